"""The parts of Settings: a dependency's status page, SQL checks, thresholds, alert rules, status
components, remediation actions. Pure data, validated when Settings is built."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class StatusPage(BaseModel):
    """A dependency's public status page."""

    name: str
    url: str
    kind: str = "statuspage"  # statuspage | stripe | slack
    scenarios: list[str] = Field(default_factory=list)  # runbook scenarios that depend on this vendor


class SqlCheck(BaseModel):
    """A named read-only SQL check: the first column of the first row is the figure."""

    name: str
    sql: str
    warn: float = 1
    fail: float | None = None
    scenarios: list[str] = Field(default_factory=list)


class StatusComponent(BaseModel):
    """A part of the shop customers know, and the runbook scenarios whose incidents affect it."""

    name: str = Field(min_length=1, max_length=100)
    scenarios: list[str] = Field(default_factory=list)


def _default_components() -> list[StatusComponent]:
    return [
        StatusComponent(name="Website", scenarios=["site_down", "performance", "error_spike", "database"]),
        StatusComponent(name="Checkout", scenarios=["checkout"]),
        StatusComponent(name="Payments", scenarios=["payments"]),
        StatusComponent(name="Sign-in", scenarios=["auth"]),
    ]


class AlertRule(BaseModel):
    """A firing alert whose labels all match declares an incident of this severity by itself."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["sentry", "alertmanager", "grafana"]
    match: dict[str, str] = Field(default_factory=dict)
    declare: Literal["P0", "P1", "P2", "P3"]


class Thresholds(BaseModel):
    """Limits from the runbook's key metrics; each probe holds its figure against one."""

    p95_latency_s: float = 3.0
    db_connections_warn_pct: float = 80.0
    db_connections_fail_pct: float = 95.0
    long_query_minutes: float = 5.0
    cache_hit_warn_pct: float = 99.0
    error_rate_pct: float = 1.0
    failed_charge_warn_pct: float = 5.0
    failed_charge_fail_pct: float = 20.0
    stripe_undelivered_warn: int = 1
    stripe_undelivered_fail: int = 10
    error_spike_factor: float = 3.0
    seq_scan_ratio: float = 10.0


_SLUG = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class NamedAction(BaseModel):
    """A team's own fix, run as ``/ops run <name> [args]``; arguments are bound, never interpolated."""

    model_config = ConfigDict(extra="forbid")

    name: str
    sql: list[str]
    params: list[str] = Field(default_factory=list)
    confirm_text: str

    @field_validator("sql", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _placeholders(self) -> NamedAction:
        if not _SLUG.match(self.name):
            raise ValueError(f"action name {self.name!r} must be lower-case letters, digits and dashes")
        used = {name for statement in self.sql for name in _PLACEHOLDER.findall(statement)}
        if used != set(self.params) or len(set(self.params)) != len(self.params):
            raise ValueError(
                f"action {self.name!r}: params {self.params} must list each %(name)s placeholder"
                f" of its SQL once (the SQL uses {sorted(used)})"
            )
        return self


class AuthSql(BaseModel):
    """The runbook's account fixes; ``{schema}`` is the auth_schema, ``%(user_id)s`` the bound user id."""

    model_config = ConfigDict(extra="forbid")

    clear_sessions: list[str] = Field(
        default_factory=lambda: ["DELETE FROM {schema}.sessions WHERE user_id = %(user_id)s"]
    )
    # The guard keeps an earlier confirmation time and makes the preview count honest.
    confirm_email: list[str] = Field(
        default_factory=lambda: [
            "UPDATE {schema}.users SET email_confirmed_at = now()"
            " WHERE id = %(user_id)s AND email_confirmed_at IS NULL"
        ]
    )
    disable: list[str] = Field(
        default_factory=lambda: [
            "UPDATE {schema}.users SET banned_until = 'infinity' WHERE id = %(user_id)s",
            "DELETE FROM {schema}.sessions WHERE user_id = %(user_id)s",
        ]
    )


class RateLimit(BaseModel):
    """At most ``count`` confirmed destructive actions per person per ``minutes``."""

    count: int = Field(default=10, ge=1)
    minutes: float = Field(default=10.0, gt=0)


CommandArea = Literal["incident", "ops", "actions"]


def _default_status_pages() -> list[StatusPage]:
    return [
        StatusPage(name="GitHub", url="https://www.githubstatus.com", scenarios=["site_down"]),
        StatusPage(name="Sentry", url="https://status.sentry.io", scenarios=["error_spike"]),
        StatusPage(
            name="Supabase",
            url="https://status.supabase.com",
            scenarios=["site_down", "database", "auth", "performance"],
        ),
        StatusPage(
            name="Stripe", url="https://status.stripe.com", kind="stripe", scenarios=["checkout", "payments"]
        ),
        StatusPage(name="Slack", url="https://slack-status.com", kind="slack"),
    ]
