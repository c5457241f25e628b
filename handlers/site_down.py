"""Runbook 1: Site is down / 500 errors."""

from bot.probes.specs import Check
from handlers.scenario import Scenario, steps

SCENARIO = Scenario(
    key="site_down",
    title="Site is down / 500 errors",
    runbook_section="1. Site is Down / 500 Errors",
    symptoms="Users cannot access the site, 500 errors in Sentry",
    keywords={
        "site down": 3,
        "site is down": 3,
        "website down": 3,
        "down": 2,
        "outage": 2,
        "500": 3,
        "500s": 3,
        "5xx": 3,
        "502": 3,
        "503": 3,
        "504": 3,
        "bad gateway": 3,
        "internal server error": 3,
        "unreachable": 2,
        "not loading": 2,
        "offline": 2,
        "cannot access": 2,
        "can't access": 2,
        "blank page": 2,
        "white screen": 2,
        "unavailable": 2,
    },
    investigation=steps(
        "i",
        "Check edge function logs (Cloud → Functions → View Logs)",
        "Check database connectivity (Cloud → Database)",
        "Check recent deployments (git log --oneline -5)",
    ),
    resolution=steps(
        "r",
        "Roll back to the previous version (Deployments → Restore)",
        "Or fix the edge function error; it deploys automatically",
    ),
    escalate_if="Issue persists after rollback",
    probes=(Check.APP, Check.STATUS_PAGES, Check.DB_CONNECTIONS, Check.DEPLOYS, Check.SENTRY_SPIKE),
)
