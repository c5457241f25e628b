"""Remediation's part of Settings: the team's named actions, the runbook's account fixes and the rate
limit (pure pydantic models; ``bot.settings`` holds them as fields)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
