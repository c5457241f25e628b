"""Runbook 3: Slow performance / high latency."""

from bot.probes.specs import Check
from handlers.scenario import Scenario, steps

SCENARIO = Scenario(
    key="performance",
    title="Slow performance / high latency",
    runbook_section="3. Slow Performance / High Latency",
    symptoms="Users report slow page loads, P95 latency > 3s",
    keywords={
        "slow": 3,
        "slowness": 3,
        "latency": 3,
        "p95": 3,
        "p99": 3,
        "sluggish": 3,
        "performance": 3,
        "response time": 3,
        "response times": 3,
        "lag": 2,
        "laggy": 2,
        "high load": 2,
        "cpu": 2,
        "memory": 1,
        "takes forever": 2,
        "take forever": 2,
        "forever to load": 3,
        "timing out": 1,
        "timeouts": 1,
        "slow queries": 3,
    },
    investigation=steps(
        "i",
        "Check recent performance metrics (performance benchmark)",
        "Identify slow queries (Database → Performance → Slow Queries)",
        "Check edge function duration (Functions → Performance)",
    ),
    resolution=steps(
        "r",
        "Add missing indexes (see the hints in the diagnostics)",
        "EXPLAIN ANALYZE the slowest queries",
        "Quick fix: increase the instance size",
        "Quick fix: clear the CDN cache",
        "Quick fix: restart edge functions (redeploy)",
    ),
    probes=(
        Check.APP,
        Check.DB_SLOW_QUERIES,
        Check.DB_LONG_QUERIES,
        Check.DB_INDEX_HINTS,
        Check.DB_CACHE,
        Check.DB_CONNECTIONS,
    ),
)
