"""The gateway's one configuration file, ``gateway.toml``, validated with clear errors.

Every setting has an embedded default, so the gateway runs with no file at all.  Relative
paths are resolved against the folder of the configuration file (the working directory
when there is none).  See ``docs/configuration.md``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "ApiConfig",
    "ApprovalsConfig",
    "AuditConfig",
    "ChangesConfig",
    "GatewayConfig",
    "IdentityConfig",
    "KnowledgeConfig",
    "NotificationsConfig",
    "PolicyConfig",
    "RuntimeConfig",
    "SelfServiceConfig",
    "StepUpConfig",
    "TicketsConfig",
    "TroubleshootingConfig",
    "load_config",
]

DEFAULT_CONFIG_NAME = "gateway.toml"
EMBEDDED_DIRECTORY = Path(__file__).parent / "defaults" / "directory.yaml"
EMBEDDED_CHANGE_CALENDAR = Path(__file__).parent / "defaults" / "change-calendar.ics"
EMBEDDED_STATUS = Path(__file__).parent / "defaults" / "status.yaml"


class PolicyConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    dir: Path = Path("policies")
    watch_interval_seconds: float = Field(default=2.0, gt=0)


SourceKind = Literal["static", "ldap", "okta"]


class IdentityConfig(BaseModel):
    """Where identity facts come from, and how long they may be trusted.

    ``sources`` are asked in this order; the first is authoritative for privileged group
    membership unless ``authoritative`` names another.  ``ldap`` and ``okta`` hold the
    connector settings (``docs/identity.md``); their secrets come from the environment
    variables named by ``bind_password_env`` and ``token_env``, never from this file.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: list[SourceKind] = Field(default=["static"], min_length=1)
    authoritative: SourceKind | None = None
    static_file: Path = EMBEDDED_DIRECTORY
    privileged_groups: list[str] = []
    ttl_seconds: float = Field(default=300.0, ge=0)
    max_stale_seconds: float = Field(default=3600.0, ge=0)
    failure_threshold: int = Field(default=3, ge=1)
    cooldown_seconds: float = Field(default=30.0, ge=0)
    stale_tolerant_actions: list[str] = ["diagnostics.run"]
    ldap: dict[str, Any] | None = None
    okta: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check_sources(self) -> IdentityConfig:
        if len(set(self.sources)) != len(self.sources):
            raise ValueError(f"sources must not repeat, found {self.sources}")
        if self.authoritative is not None and self.authoritative not in self.sources:
            raise ValueError(f"authoritative source {self.authoritative!r} is not in sources")
        for kind, secret in (("ldap", "bind_password"), ("okta", "token")):
            table = getattr(self, kind)
            if kind in self.sources and table is None:
                raise ValueError(f"source {kind!r} needs an [identity.{kind}] table")
            if table is not None and secret in table:
                raise ValueError(
                    f"{kind}.{secret}: secrets never go in the configuration file; put it in "
                    f"an environment variable and name it in {kind}.{secret}_env"
                )
        return self


class AuditConfig(BaseModel):
    """The signed, hash-chained audit log (``docs/audit-log-format.md``).

    It cannot be switched off quietly: ``unsafe_no_audit = true`` runs without one (every
    decision then logs a warning, and ``gateway serve`` refuses to start); the old key
    ``enabled`` is refused with a message naming the new one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    unsafe_no_audit: bool = False
    log: Path = Path("var/audit.log")
    signing_key: Path = Path("keys/audit-signing.key")
    create_key: bool = True  # make the signing key on first use when it is missing
    name: str = Field(default="it-support-gateway/audit", min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _refuse_the_old_switch(cls, data: Any) -> Any:
        if isinstance(data, dict) and "enabled" in data:
            raise ValueError(
                "audit.enabled is no longer a setting; to run without an audit log (unsafe: "
                "nothing is audited) set audit.unsafe_no_audit = true"
            )
        return data

    @property
    def enabled(self) -> bool:
        """Whether decisions and actions are audited (``unsafe_no_audit`` is not set)."""
        return not self.unsafe_no_audit


class StepUpConfig(BaseModel):
    """TOTP step-up verification (``docs/step-up.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    database: Path = Path("var/stepup.db")
    seed_key_file: Path = Path("keys/stepup-seeds.key")
    create_seed_key: bool = True
    issuer: str = Field(default="IT Support Gateway", min_length=1)
    valid_window: int = Field(default=1, ge=0, le=3)
    max_failures: int = Field(default=5, ge=1)
    failure_window_seconds: int = Field(default=900, ge=1)
    lockout_seconds: int = Field(default=900, ge=1)
    recovery_code_count: int = Field(default=10, ge=1, le=50)


class ApprovalsConfig(BaseModel):
    """Approval requests (``docs/approvals.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    database: Path = Path("var/approvals.db")
    reject_on_first: bool = True  # one rejection rejects the request
    require_step_up: bool = False  # a vote counts only after the voter stepped up


class NotificationsConfig(BaseModel):
    """Where approval notifications go (``docs/notifications.md``).

    ``channel`` picks one; its table holds the settings, with its secret (webhook URL, bot
    token, SMTP password) read from the environment variable named by ``*_env``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Literal["file", "slack_webhook", "slack_bot", "teams", "smtp"] = "file"
    file: Path = Path("var/notifications.jsonl")
    outbox: Path = Path("var/notify-outbox.sqlite3")
    slack_webhook: dict[str, Any] | None = None
    slack_bot: dict[str, Any] | None = None
    teams: dict[str, Any] | None = None
    smtp: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check_channel(self) -> NotificationsConfig:
        if self.channel != "file" and getattr(self, self.channel) is None:
            raise ValueError(
                f"channel {self.channel!r} needs a [notifications.{self.channel}] table"
            )
        for name in ("slack_webhook", "slack_bot", "teams", "smtp"):
            table = getattr(self, name) or {}
            for secret in ("webhook_url", "token", "password"):
                if secret in table:
                    raise ValueError(
                        f"{name}.{secret}: secrets never go in the configuration file; name an "
                        f"environment variable in {name}.{secret}_env"
                    )
        return self


class RuntimeConfig(BaseModel):
    """The guarded automation runtime (``docs/runtime.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database: Path = Path("var/runtime.db")
    workflows: Path = Path("automations/workflows")
    worker_interval_seconds: float = Field(default=0.5, gt=0)
    max_attempts: int = Field(default=5, ge=1)  # per step, for a target system that is down
    backoff_seconds: float = Field(default=2.0, gt=0)  # first wait; doubles per attempt
    max_backoff_seconds: float = Field(default=300.0, gt=0)
    system_actor: str = Field(default="svc-gateway", min_length=1)  # runs automatic revocations
    output_key: Path = Path(
        "keys/runtime-outputs.key"
    )  # seals secret outputs (temporary passwords)
    output_ttl_seconds: int = Field(
        default=3600, ge=60
    )  # a sealed output is readable once, this long
    embedded_systems: Path = Path("var/embedded")  # state of the simulated directory and devices


class TicketsConfig(BaseModel):
    """Ticket intake, routing and write-back (``docs/tickets.md``).  ``servicenow`` and
    ``jira`` hold the connector settings; their secrets come from the environment
    variables named by ``*_env`` keys, never from this file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    triggers: Path = Path("automations/triggers")
    database: Path = Path("var/tickets.db")  # events seen, watermarks, dead letters, outbox
    poll_interval_seconds: float = Field(default=60.0, gt=0)
    max_event_bytes: int = Field(default=1_048_576, ge=1024)
    # deliveries without a gateway credential (the Jira webhook), per source: a token bucket
    unauthenticated_per_minute: float = Field(default=120.0, gt=0)
    unauthenticated_burst: int = Field(default=30, ge=1)
    servicenow: dict[str, Any] | None = None
    jira: dict[str, Any] | None = None


class TroubleshootingConfig(BaseModel):
    """Guided troubleshooting (``docs/troubleshooting.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trees: Path = Path("automations/troubleshooting")
    database: Path = Path("var/troubleshooting.db")  # sessions and their history
    diagnostic_timeout_seconds: float = Field(default=5.0, gt=0)
    offline: bool = False  # no diagnostic reaches a system: the trees' offline branches
    status_file: Path = EMBEDDED_STATUS  # what monitoring and asset checks answer


class SelfServiceConfig(BaseModel):
    """The self-service catalog (``docs/self-service.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    catalog: Path = Path("automations/catalog")
    database: Path = Path("var/selfservice.db")  # runs, quotas, refusals, analytics
    snipeit: dict[str, Any] | None = None  # an asset manager; token from ``token_env``
    inventory: Path = Path("inventory/devices.yaml")  # who owns which device; relative: to catalog
    visibility_cache_seconds: float = Field(default=30.0, ge=0)  # who sees which item


class KnowledgeConfig(BaseModel):
    """Resolution documentation and the knowledge base (``docs/knowledge.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    articles: Path = Path("var/knowledge")  # Markdown files with front matter
    index: Path = Path("var/knowledge.db")  # SQLite FTS5 search index
    templates: Path | None = None  # a folder of Jinja2 templates overriding the shipped ones
    redact_names: bool = False
    redact_ip_addresses: bool = False
    redact_emails: bool = True
    redact_phone_numbers: bool = True
    names: list[str] = []  # more names to take out when redact_names is on
    similarity_threshold: float = Field(default=0.5, gt=0, le=1)  # same problem at or above
    servicenow: dict[str, Any] | None = None  # kb_knowledge through the Table API
    confluence: dict[str, Any] | None = None


class ApiConfig(BaseModel):
    """The HTTP API (``docs/api.md``): where it listens, its limits, and how callers
    authenticate.  ``token_issuer`` unset means the gateway issues its own bearer tokens
    (signed with ``token_signing_key``); set it, with ``jwks_url`` and ``audience``, to
    accept the identity provider's tokens instead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    request_timeout_seconds: float = Field(default=30.0, gt=0)
    api_keys: Path = Path("var/api-keys.db")
    token_signing_key: Path = Path("keys/api-tokens.key")
    token_issuer: str | None = None
    jwks_url: str | None = None
    audience: str = Field(default="it-support-gateway", min_length=1)
    token_lifetime_seconds: int = Field(default=3600, ge=60, le=86_400)
    clock_skew_seconds: int = Field(default=60, ge=0, le=600)

    @model_validator(mode="after")
    def _check_issuer(self) -> ApiConfig:
        if (self.token_issuer is None) != (self.jwks_url is None):
            raise ValueError("token_issuer and jwks_url go together: set both or neither")
        return self


class ChangesConfig(BaseModel):
    """Change management: the calendar of freezes and maintenance windows (iCalendar)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    calendar: Path = EMBEDDED_CHANGE_CALENDAR  # embedded: no freezes


class GatewayConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: PolicyConfig = PolicyConfig()
    identity: IdentityConfig = IdentityConfig()
    audit: AuditConfig = AuditConfig()
    stepup: StepUpConfig = StepUpConfig()
    approvals: ApprovalsConfig = ApprovalsConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    tickets: TicketsConfig = TicketsConfig()
    troubleshooting: TroubleshootingConfig = TroubleshootingConfig()
    selfservice: SelfServiceConfig = SelfServiceConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    api: ApiConfig = ApiConfig()
    changes: ChangesConfig = ChangesConfig()

    def resolved(self, base: Path) -> GatewayConfig:
        """The same configuration with relative paths made absolute against ``base``."""
        return self.model_copy(
            update={
                "policy": self.policy.model_copy(update={"dir": base / self.policy.dir}),
                "identity": self.identity.model_copy(
                    update={"static_file": base / self.identity.static_file}
                ),
                "audit": self.audit.model_copy(
                    update={
                        "log": base / self.audit.log,
                        "signing_key": base / self.audit.signing_key,
                    }
                ),
                "approvals": self.approvals.model_copy(
                    update={"database": base / self.approvals.database}
                ),
                "notifications": self.notifications.model_copy(
                    update={
                        "file": base / self.notifications.file,
                        "outbox": base / self.notifications.outbox,
                    }
                ),
                "runtime": self.runtime.model_copy(
                    update={
                        "database": base / self.runtime.database,
                        "workflows": base / self.runtime.workflows,
                        "output_key": base / self.runtime.output_key,
                        "embedded_systems": base / self.runtime.embedded_systems,
                    }
                ),
                "tickets": self.tickets.model_copy(
                    update={
                        "triggers": base / self.tickets.triggers,
                        "database": base / self.tickets.database,
                    }
                ),
                "troubleshooting": self.troubleshooting.model_copy(
                    update={
                        "trees": base / self.troubleshooting.trees,
                        "database": base / self.troubleshooting.database,
                        "status_file": base / self.troubleshooting.status_file,
                    }
                ),
                "selfservice": self.selfservice.model_copy(
                    update={
                        "catalog": base / self.selfservice.catalog,
                        "database": base / self.selfservice.database,
                    }
                ),
                "knowledge": self.knowledge.model_copy(
                    update={
                        "articles": base / self.knowledge.articles,
                        "index": base / self.knowledge.index,
                        "templates": None
                        if self.knowledge.templates is None
                        else base / self.knowledge.templates,
                    }
                ),
                "api": self.api.model_copy(
                    update={
                        "api_keys": base / self.api.api_keys,
                        "token_signing_key": base / self.api.token_signing_key,
                    }
                ),
                "changes": self.changes.model_copy(
                    update={"calendar": base / self.changes.calendar}
                ),
                "stepup": self.stepup.model_copy(
                    update={
                        "database": base / self.stepup.database,
                        "seed_key_file": base / self.stepup.seed_key_file,
                    }
                ),
            }
        )


def load_config(path: Path | None = None) -> GatewayConfig:
    """Load ``path``, or ``./gateway.toml`` when it exists, or the embedded defaults."""
    if path is None:
        candidate = Path.cwd() / DEFAULT_CONFIG_NAME
        if not candidate.is_file():
            return GatewayConfig()
        path = candidate
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    try:
        config = GatewayConfig.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise ConfigError(f"{path}: invalid configuration: {details}") from exc
    return config.resolved(path.parent)
