"""Runbook 6: Database connection errors / pool exhausted."""

from bot.probes.specs import Check, StatusPage
from handlers.scenario import Scenario, steps

SCENARIO = Scenario(
    key="database",
    title="Database connection errors",
    runbook_section="6. Database Connection Errors",
    symptoms="Could not connect to database, connection pool exhausted",
    keywords={
        "database": 3,
        "db": 3,
        "postgres": 3,
        "postgresql": 3,
        "supabase": 2,
        "connection": 2,
        "connections": 2,
        "pool": 3,
        "pool exhausted": 3,
        "too many clients": 3,
        "too many connections": 3,
        "deadlock": 3,
        "deadlocks": 3,
        "locks": 2,
        "locked": 2,
        "query": 1,
        "queries": 1,
        "replication": 2,
        "disk full": 2,
        "could not connect": 3,
    },
    investigation=steps(
        "i",
        "Check active connections (pg_stat_activity)",
        "Check for long-running queries",
    ),
    resolution=steps(
        "r",
        "End queries running over 5 minutes (pg_terminate_backend)",
        "Increase the connection pool size (Database → Advanced)",
    ),
    probes=(Check.DB_CONNECTIONS, Check.DB_LONG_QUERIES, Check.DB_BLOCKED, StatusPage("supabase")),
)
