"""The gateway's one configuration file, ``gateway.toml``, validated with clear errors.

Every setting has an embedded default, so the gateway runs with no file at all.  Relative
paths are resolved against the folder of the configuration file (the working directory
when there is none).  See ``docs/configuration.md``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.callers.settings import ApiConfig
from gateway.changes.servicenow_settings import ServiceNowChangeSettings
from gateway.chat.settings import ChatSettings
from gateway.config_lines import toml_lines
from gateway.defaults import (
    EMBEDDED_CHANGE_CALENDAR,
    EMBEDDED_CHANGE_REGISTER,
    EMBEDDED_DIRECTORY,
    EMBEDDED_STATUS,
)
from gateway.devices.snipeit_settings import SnipeItSettings
from gateway.errors import ConfigError
from gateway.identity.ldap_settings import LdapSettings
from gateway.identity.okta_settings import OktaSettings
from gateway.identity.resolver_settings import ResolverSettings
from gateway.knowledge.settings import KnowledgeConfig
from gateway.notify.settings import (
    SlackBotSettings,
    SlackWebhookSettings,
    SmtpSettings,
    TeamsSettings,
)
from gateway.offline.settings import OfflineSettings
from gateway.policy.settings import TrustedKeySettings
from gateway.privacy.settings import PrivacySettings
from gateway.runtime.settings import RuntimeSettings
from gateway.secrets import FILE_CONTEXT
from gateway.stepup.settings import StepUpSettings
from gateway.storage.settings import StorageSettings
from gateway.tickets.alertmanager_settings import AlertmanagerSettings
from gateway.tickets.settings import JiraSettings, ServiceNowSettings
from gateway.troubleshooting.prometheus_settings import PrometheusSettings

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "EMBEDDED_CHANGE_CALENDAR",
    "EMBEDDED_DIRECTORY",
    "EMBEDDED_STATUS",
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


class PolicyConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    dir: Path = Path("policies")
    watch_interval_seconds: float = Field(default=2.0, gt=0)
    # Bundle trust (docs/adr/0013-signed-policy-bundles.md): the signers whose signatures
    # count, and how many distinct ones a bundle needs; none: a development key signs.
    trusted_keys: list[TrustedKeySettings] = []
    threshold: int = Field(default=1, ge=1)
    # Key ids (16 hex digits, as `gateway keys init` prints them) whose signatures never count.
    revoked_keys: list[str] = []

    @field_validator("revoked_keys")
    @classmethod
    def _key_ids(cls, value: list[str]) -> list[str]:
        wrong = [item for item in value if not re.fullmatch(r"[0-9a-f]{16}", item)]
        if wrong:
            raise ValueError(f"expected key ids of 16 hex digits, found {wrong[0]!r}")
        return value

    @model_validator(mode="after")
    def _threshold_reachable(self) -> PolicyConfig:
        signers = {key.signer for key in self.trusted_keys}
        if self.trusted_keys and self.threshold > len(signers):
            raise ValueError(
                f"threshold {self.threshold} exceeds the {len(signers)} trusted signers"
            )
        return self

    def resolved(self, base: Path) -> PolicyConfig:
        keys = [k.model_copy(update={"public_key": base / k.public_key}) for k in self.trusted_keys]
        return self.model_copy(update={"dir": base / self.dir, "trusted_keys": keys})


SourceKind = Literal["static", "ldap", "okta"]


class IdentityConfig(ResolverSettings):
    """Where identity facts come from, and how long they may be trusted (the resolver's
    settings, ``ResolverSettings``, are this table's other fields).

    ``sources`` are asked in this order; the first is authoritative for privileged group
    membership unless ``authoritative`` names another.  ``ldap`` and ``okta`` hold the
    connector settings (``docs/identity.md``); their secrets come from the environment
    variables named by ``bind_password_env`` and ``token_env``, never from this file.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: list[SourceKind] = Field(default=["static"], min_length=1)
    authoritative: SourceKind | None = None
    static_file: Path = EMBEDDED_DIRECTORY
    privileged_groups: list[str] = Field(default=[])
    stale_tolerant_actions: list[str] = Field(default=["diagnostics.run"])
    ldap: LdapSettings | None = None
    okta: OktaSettings | None = None

    @model_validator(mode="after")
    def _check_sources(self) -> IdentityConfig:
        if len(set(self.sources)) != len(self.sources):
            raise ValueError(f"sources must not repeat, found {self.sources}")
        if self.authoritative is not None and self.authoritative not in self.sources:
            raise ValueError(f"authoritative source {self.authoritative!r} is not in sources")
        for kind in ("ldap", "okta"):
            if kind in self.sources and getattr(self, kind) is None:
                raise ValueError(f"source {kind!r} needs an [identity.{kind}] table")
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


class StepUpConfig(StepUpSettings):
    """TOTP step-up verification (``docs/step-up.md``): the service's settings
    (``StepUpSettings``) and the switch that turns it off."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True


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
    slack_webhook: SlackWebhookSettings | None = None
    slack_bot: SlackBotSettings | None = None
    teams: TeamsSettings | None = None
    smtp: SmtpSettings | None = None

    @model_validator(mode="after")
    def _check_channel(self) -> NotificationsConfig:
        if self.channel != "file" and getattr(self, self.channel) is None:
            raise ValueError(
                f"channel {self.channel!r} needs a [notifications.{self.channel}] table"
            )
        return self


class RuntimeConfig(RuntimeSettings):
    """The guarded automation runtime (``docs/runtime.md``): the executor's settings
    (``RuntimeSettings``) and where the runtime keeps its files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database: Path = Path("var/runtime.db")
    workflows: Path = Path("automations/workflows")
    worker_interval_seconds: float = Field(default=0.5, gt=0)
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
    servicenow: ServiceNowSettings | None = None
    jira: JiraSettings | None = None
    alertmanager: AlertmanagerSettings | None = None  # Alertmanager webhooks as triggers


class TroubleshootingConfig(BaseModel):
    """Guided troubleshooting (``docs/troubleshooting.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trees: Path = Path("automations/troubleshooting")
    database: Path = Path("var/troubleshooting.db")  # sessions and their history
    diagnostic_timeout_seconds: float = Field(default=5.0, gt=0)
    offline: bool = False  # no diagnostic reaches a system: the trees' offline branches
    status_file: Path = EMBEDDED_STATUS  # what monitoring and asset checks answer
    prometheus: PrometheusSettings | None = None  # when set, monitoring checks ask Prometheus


class SelfServiceConfig(BaseModel):
    """The self-service catalog (``docs/self-service.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    catalog: Path = Path("automations/catalog")
    database: Path = Path("var/selfservice.db")  # runs, quotas, refusals, analytics
    snipeit: SnipeItSettings | None = None  # an asset manager; token from ``token_env``
    inventory: Path = Path("inventory/devices.yaml")  # who owns which device; relative: to catalog
    visibility_cache_seconds: float = Field(default=30.0, ge=0)  # who sees which item


class ChangesConfig(BaseModel):
    """Change management: the calendar of freezes and maintenance windows (iCalendar), and
    the change register (the change requests workflows may act under, docs/runtime.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    calendar: Path = EMBEDDED_CHANGE_CALENDAR  # embedded: no freezes
    # change requests a workflow may act under (YAML), when ServiceNow is not configured
    register_file: Path = EMBEDDED_CHANGE_REGISTER  # embedded: none
    # ServiceNow blackout and maintenance schedules, merged with the calendar file
    servicenow: ServiceNowChangeSettings | None = None


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
    chat: ChatSettings = ChatSettings()
    offline: OfflineSettings = OfflineSettings()  # field kits (docs/offline.md)
    storage: StorageSettings = StorageSettings()  # SQLite files or PostgreSQL (docs/storage.md)
    privacy: PrivacySettings = PrivacySettings()  # sealed personal fields (docs/privacy.md)

    def resolved(self, base: Path) -> GatewayConfig:
        """The same configuration with relative paths made absolute against ``base``."""
        return self.model_copy(
            update={
                "policy": self.policy.resolved(base),
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
                    update={
                        "calendar": base / self.changes.calendar,
                        "register_file": base / self.changes.register_file,
                    }
                ),
                "offline": self.offline.resolved(base),
                "privacy": self.privacy.resolved(base),
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
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    try:
        config = GatewayConfig.model_validate(data, context=FILE_CONTEXT)
    except ValidationError as exc:
        raise ConfigError(_located(path, toml_lines(text), exc)) from None
    return config.resolved(path.parent)


def _located(path: Path, lines: dict[tuple[str, ...], int], error: ValidationError) -> str:
    """``<file>:<line>: invalid configuration: <field>: <problem>``, then each further
    problem as ``<file>:<line>: <field>: <problem>`` (never an input value)."""
    problems = []
    for detail in error.errors(include_url=False, include_input=False, include_context=False):
        loc = tuple(str(part) for part in detail["loc"])
        line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), 1)
        problems.append((f"{path}:{line}", f"{'.'.join(loc)}: {detail['msg']}"))
    first, *rest = problems
    return "; ".join(
        [f"{first[0]}: invalid configuration: {first[1]}", *(f"{w}: {p}" for w, p in rest)]
    )
