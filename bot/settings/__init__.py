"""Settings: environment variables plus an optional YAML file, built once in the CLI and passed down.

Nothing else in opsbot reads ``os.environ``. Secrets are ``SecretStr`` so they never print by accident."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from bot.clock.config import ClockSettings
from bot.settings.models import (
    AlertRule as AlertRule,
)
from bot.settings.models import (
    AuthSql as AuthSql,
)
from bot.settings.models import (
    CommandArea as CommandArea,
)
from bot.settings.models import (
    NamedAction as NamedAction,
)
from bot.settings.models import (
    RateLimit as RateLimit,
)
from bot.settings.models import (
    SqlCheck as SqlCheck,
)
from bot.settings.models import (
    StatusComponent as StatusComponent,
)
from bot.settings.models import (
    StatusPage as StatusPage,
)
from bot.settings.models import (
    Thresholds as Thresholds,
)
from bot.settings.models import (
    _default_components as _default_components,
)
from bot.settings.models import (
    _default_status_pages as _default_status_pages,
)

DEFAULT_CONFIG_FILE = "opsbot.yml"
CHANNEL_FORM = "must be a channel ID such as C0123ABCD or a name such as #engineering-incidents"


class Settings(BaseSettings, ClockSettings):
    """Every setting opsbot reads. ``opsbot.example.yml`` documents each with its default."""

    model_config = SettingsConfigDict(extra="forbid", case_sensitive=False, populate_by_name=True)

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    incident_channel: str = "#engineering-incidents"
    security_channel: str | None = None  # private: security incidents' cards and threads go here
    oncall_usergroup: str | None = None

    # The bot's own state and serving
    database_url: SecretStr = SecretStr("sqlite:///opsbot.db")
    host: str = "0.0.0.0"  # noqa: S104 - a server that Slack reaches listens on every interface
    port: int = Field(default=3000, ge=1, le=65535)
    sentry_dsn: SecretStr | None = None
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Delivery keys, sent outbox items, resolved or dismissed alerts and other bookkeeping older than
    # this are deleted; incidents, their timelines and failed outbox items are kept.
    retention_days: float = Field(default=7.0, gt=0)
    # Resolved incidents older than this are deleted with what hangs off them (unset: kept for ever).
    incident_retention_days: float | None = Field(default=None, gt=0)
    # On SIGTERM: how long the current delivery round and requests in flight may take before exit.
    shutdown_grace_s: float = Field(default=10.0, gt=0, le=120)
    # /readyz fails when the oldest undelivered message has waited longer than this.
    ready_max_pending_age_s: float = Field(default=300.0, gt=0)

    # Diagnostics targets (read-only)
    app_url: str | None = None
    app_endpoints: list[str] = Field(default_factory=list)
    ops_database_url: SecretStr | None = None
    stripe_api_key: SecretStr | None = None
    stripe_api_url: str = "https://api.stripe.com"
    sentry_auth_token: SecretStr | None = None
    sentry_org: str | None = None
    sentry_project: str | None = None
    sentry_api_url: str = "https://sentry.io/api/0/"
    github_token: SecretStr | None = None
    github_repo: str | None = None
    github_api_url: str = "https://api.github.com"
    status_pages: list[StatusPage] = Field(default_factory=_default_status_pages)
    probe_timeout_s: float = Field(default=5.0, gt=0, le=60)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    sql_checks: list[SqlCheck] = Field(default_factory=list)
    scenario_keywords: dict[str, list[str]] = Field(default_factory=dict)

    # The public status page (GET /status and Statuspage-compatible /api/v2/*.json) and customers
    status_page_name: str = "Service status"
    public_url: str = ""  # where the status page is reachable, for links in its JSON
    status_components: list[StatusComponent] = Field(default_factory=_default_components)
    publishers: list[str] = Field(default_factory=list)  # user (U...) or group (S...) ids; empty: everyone
    support_channel: str | None = None  # published P0/P1 updates are also posted here, one line each

    # Alerts arriving by webhook (POST /hooks/sentry, /hooks/alertmanager, /hooks/grafana)
    alert_channel: str | None = None  # default: the incident channel
    sentry_client_secret: SecretStr | None = None
    alertmanager_token: SecretStr | None = None
    grafana_hmac_secret: SecretStr | None = None
    grafana_token: SecretStr | None = None  # or a bearer token (Grafana's "Authorization header")
    grafana_timestamp_header: str | None = None
    alert_rules: list[AlertRule] = Field(default_factory=list)
    status_watch_every: str = "2m"  # how often vendors' status pages are read; 0 turns the watch off
    # Remediation (production-changing, behind preview, confirm, permissions and audit)
    ops_database_admin_url: SecretStr | None = None
    auth_schema: str = "auth"
    auth_sql: AuthSql = Field(default_factory=AuthSql)
    actions: list[NamedAction] = Field(default_factory=list)
    remediation_allowed: list[str] = Field(default_factory=list)
    incident_admins: list[str] = Field(default_factory=list)
    allowed_channels: dict[CommandArea, list[str]] = Field(default_factory=dict)
    action_confirm_minutes: float = Field(default=5.0, gt=0, le=60)
    action_rate_limit: RateLimit = Field(default_factory=RateLimit)
    action_timeout_s: float = Field(default=10.0, gt=0, le=120)
    access_cache_s: float = Field(default=60.0, ge=0, le=3600)

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if not url.startswith(("sqlite://", "postgresql://", "postgres://")):
            # Only a real scheme is echoed: what precedes a ':' may as well be a user or a password.
            scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]{0,20})://", url)
            got = f"a {scheme.group(1)!r} URL" if scheme else "a value with no scheme"
            raise ValueError(f"must start with sqlite:/// or postgresql:// (got {got})")
        return value

    @field_validator("incident_channel", "security_channel")
    @classmethod
    def _channel(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = (value or "").strip()
        if not value and info.field_name == "security_channel":
            return None  # unset: security incidents stay in the incident channel
        if not (value.startswith("#") or value[:1] in {"C", "G"}):
            raise ValueError(CHANNEL_FORM)
        return value

    @field_validator("oncall_usergroup")
    @classmethod
    def _usergroup(cls, value: str | None) -> str | None:
        if value and not value.startswith("S"):
            raise ValueError("must be a Slack user group ID such as S0123ABCD")
        return value or None

    @field_validator("remediation_allowed", "incident_admins")
    @classmethod
    def _people(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r"[UWS][A-Z0-9]{2,}", item):
                raise ValueError(f"{item!r} is not a user ID (U0123ABCD) or user group ID (S0123ABCD)")
        return value

    @field_validator("allowed_channels")
    @classmethod
    def _channels(cls, value: dict[CommandArea, list[str]]) -> dict[CommandArea, list[str]]:
        for area, channels in value.items():
            bad = [c for c in channels if not re.fullmatch(r"[CGD][A-Z0-9]{2,}", c)]
            if bad:
                raise ValueError(f"{area}: {bad[0]!r} is not a channel ID such as C0123ABCD")
        return value

    @field_validator("auth_schema")
    @classmethod
    def _schema(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", value):
            raise ValueError("must be a plain schema name such as auth")
        return value

    @model_validator(mode="after")
    def _separate_roles(self) -> Settings:
        admin, monitor = self.ops_database_admin_url, self.ops_database_url
        if (
            admin is not None
            and monitor is not None
            and admin.get_secret_value() == monitor.get_secret_value()
        ):
            raise ValueError(
                "OPS_DATABASE_ADMIN_URL must use its own role, not the read-only OPS_DATABASE_URL"
            )
        names = [a.name for a in self.actions]
        if len(set(names)) != len(names):
            raise ValueError("ACTIONS: each action needs its own name")
        return self

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then the environment, then NAME_FILE variables (secrets
        # mounted as files), then the YAML file.
        files = SecretFiles(settings_cls)
        return (init_settings, env_settings, files, YamlConfigSettingsSource(settings_cls))

    def secrets(self) -> list[str]:
        """Every secret value set, for log and Sentry redaction."""
        found: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.append(value.get_secret_value())
        db_password = _url_password(self.database_url.get_secret_value())
        found.extend(
            p
            for p in (
                db_password,
                *(
                    _url_password(u.get_secret_value())
                    for u in (self.ops_database_url, self.ops_database_admin_url)
                    if u
                ),
            )
            if p
        )
        return found


def _url_password(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""


class SettingsError(Exception):
    """A setting is wrong or missing; the message names the key and what is wrong."""


class SecretFiles(PydanticBaseSettingsSource):
    """``SLACK_BOT_TOKEN_FILE=/run/secrets/slack`` sets ``slack_bot_token`` from that file's content.

    Container platforms mount secrets as files; only secret settings may be read this way."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in secret_fields():
            variable = f"{name.upper()}_FILE"
            path = os.environ.get(variable)
            if not path:
                continue
            try:
                found[name] = Path(path).read_text().strip()
            except OSError as exc:
                raise SettingsError(f"{variable}: cannot read {path!r}: {exc.strerror}") from None
        return found


def secret_fields() -> list[str]:
    """The settings that hold secrets (may come from ``NAME_FILE``)."""
    return [name for name, field in Settings.model_fields.items() if "SecretStr" in str(field.annotation)]


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from overrides, the environment and the YAML file (``OPSBOT_CONFIG``)."""
    explicit = os.environ.get("OPSBOT_CONFIG")
    path = Path(explicit) if explicit else Path(DEFAULT_CONFIG_FILE)
    if explicit and not path.is_file():
        raise SettingsError(f"OPSBOT_CONFIG: no such file {explicit!r}")
    settings_cls: type[Settings] = Settings
    if path.is_file():
        config = SettingsConfigDict(**{**Settings.model_config, "yaml_file": path})
        settings_cls = type("Settings", (Settings,), {"model_config": config})
    try:
        return settings_cls(**overrides)
    except ValidationError as exc:
        raise SettingsError(_first_error(exc)) from None
    except SettingsError:
        raise
    except Exception as exc:  # a malformed YAML file or an env value that is not JSON
        raise SettingsError(
            f"{path if path.is_file() else 'environment'}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0][:200]}"
        ) from None


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    err = errors[0]
    key = ".".join(str(p) for p in err["loc"]).upper() or "settings"
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "is not a setting opsbot knows (see opsbot.example.yml)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{key}: {message}{more}"
