"""Runbook 7: High error rate in Sentry."""

from bot.probes.specs import Check
from handlers.scenario import Scenario, steps

SCENARIO = Scenario(
    key="error_spike",
    title="High error rate in Sentry",
    runbook_section="7. High Error Rate in Sentry",
    symptoms="Sudden spike in Sentry errors",
    keywords={
        "sentry": 3,
        "error rate": 3,
        "error spike": 3,
        "spike": 3,
        "spiking": 3,
        "errors": 1,
        "exceptions": 2,
        "exception": 2,
        "crash": 1,
        "crashes": 1,
        "crashing": 1,
        "alert": 1,
        "alerts": 1,
        "error": 1,
    },
    investigation=steps(
        "i",
        "Check the Sentry dashboard for error patterns",
        "Is it user-specific or global?",
        "Is it related to a recent deployment?",
        "Review the error stack traces",
    ),
    resolution=steps(
        "r",
        "Deployment-related: roll back to the previous version",
        "Code issue: fix the bug, deploy, mark the Sentry issue resolved",
        "External service: degrade gracefully, add better error messages",
    ),
    probes=(Check.SENTRY_SPIKE, Check.SENTRY_ISSUES, Check.DEPLOYS, Check.APP),
)
