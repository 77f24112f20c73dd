"""The composition root: builds the gateway's parts from configuration, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from gateway.approvals.auto import AutoApprover
from gateway.approvals.model import ApprovalRequest
from gateway.approvals.notices import approval_notice, approvers_to_ask
from gateway.approvals.reading import ApprovalReads
from gateway.approvals.service import ApprovalService
from gateway.audit.keys import PRIVATE_KEY_FILE, init_keys, load_signer
from gateway.audit.log import AuditLog
from gateway.audit.unsafe import warn_no_audit_log
from gateway.changes.calendar import ChangeCalendar
from gateway.config import (
    ApprovalsConfig,
    AuditConfig,
    GatewayConfig,
    IdentityConfig,
    NotificationsConfig,
    StepUpConfig,
    load_config,
)
from gateway.enforcement.point import EnforcementPoint, conflict_event, decision_event
from gateway.errors import ConfigError
from gateway.http.secrets import secret_from_env
from gateway.identity.directory import DirectoryConnector
from gateway.identity.resolver import IdentityResolver, ResolverSettings
from gateway.identity.static import StaticDirectory
from gateway.notify.model import NotificationKind
from gateway.notify.outbox import Outbox
from gateway.notify.reliable import ReliableNotifier
from gateway.policy.decision import StepUpObligation
from gateway.policy.request import AccessRequest
from gateway.policy.store import PolicyStore
from gateway.stepup.service import StepUpService
from gateway.stepup.settings import StepUpSettings

if TYPE_CHECKING:
    from gateway.runtime.executor import Executor

__all__ = [
    "Gateway",
    "build_directory",
    "conflict_event",
    "decision_event",
    "open_audit_log",
    "open_runtime",
]

Settings = TypeVar("Settings", bound=BaseModel)


def open_audit_log(config: AuditConfig) -> AuditLog:
    """The configured audit log, making its signing key first when allowed and missing."""
    key_path = config.signing_key
    if config.create_key and not key_path.exists() and key_path.name == PRIVATE_KEY_FILE:
        init_keys(key_path.parent)
    return AuditLog(config.log, load_signer(key_path))


def _secret_from_env(
    kind: str, table: dict[str, Any], key: str, *, section: str = "identity"
) -> dict[str, Any]:
    """The connector settings with the secret read from the environment variable named
    by ``KEY_env`` (the one reader, ``gateway.http.secret_from_env``)."""
    return secret_from_env(f"{section}.{kind}", table, key, required=True)


def _settings(
    model: type[Settings], kind: str, values: dict[str, Any], *, section: str = "identity"
) -> Settings:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        details = "; ".join(
            f"{section}.{kind}.{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"invalid {section} settings: {details}") from exc


def build_directory(config: IdentityConfig) -> DirectoryConnector:
    """The configured identity source, or a resolver over several."""
    sources: list[DirectoryConnector] = []
    for kind in config.sources:
        if kind == "static":
            sources.append(StaticDirectory.load(config.static_file))
        elif kind == "ldap":  # imported on use: ldap3 is slow to import
            from gateway.identity.ldap import LdapDirectory
            from gateway.identity.ldap_settings import LdapSettings

            values = _secret_from_env(kind, config.ldap or {}, "bind_password")
            sources.append(LdapDirectory(_settings(LdapSettings, kind, values)))
        else:
            from gateway.identity.okta import OktaDirectory
            from gateway.identity.okta_settings import OktaSettings

            values = _secret_from_env(kind, config.okta or {}, "token")
            sources.append(OktaDirectory(_settings(OktaSettings, kind, values)))
    if len(sources) == 1 and kind == "static":
        return sources[0]
    return IdentityResolver(
        sources=sources,
        settings=ResolverSettings(
            ttl_seconds=config.ttl_seconds,
            max_stale_seconds=config.max_stale_seconds,
            failure_threshold=config.failure_threshold,
            cooldown_seconds=config.cooldown_seconds,
        ),
        authoritative=next(
            (
                s.name
                for s, k in zip(sources, config.sources, strict=True)
                if k == config.authoritative
            ),
            None,
        ),
        privileged_groups=frozenset(config.privileged_groups),
    )


def open_stepup(config: StepUpConfig, audit: AuditLog | None) -> StepUpService:
    """The step-up service, recording enrolments and verifications in the audit log."""
    settings = StepUpSettings(
        database=config.database,
        seed_key_file=config.seed_key_file,
        create_seed_key=config.create_seed_key,
        issuer=config.issuer,
        valid_window=config.valid_window,
        max_failures=config.max_failures,
        failure_window_seconds=config.failure_window_seconds,
        lockout_seconds=config.lockout_seconds,
        recovery_code_count=config.recovery_code_count,
    )
    return StepUpService.open(settings, audit=audit.append if audit is not None else None)


_CHANNEL_SECRETS = {"slack_webhook": "webhook_url", "slack_bot": "token", "teams": "webhook_url"}


def build_notifier(config: NotificationsConfig) -> ReliableNotifier:
    """The configured channel behind a durable outbox: a failed notification is kept and
    retried by ``flush``, never lost and never in the way of an approval."""
    from gateway.notify import (
        FileNotifier,
        Notifier,
        SlackBotSettings,
        SlackNotifier,
        SlackWebhookSettings,
        SmtpNotifier,
        SmtpSettings,
        TeamsNotifier,
        TeamsSettings,
    )

    channel = config.channel
    notifier: Notifier
    if channel == "file":
        notifier = FileNotifier(config.file)
    elif channel == "smtp":
        table = dict(config.smtp or {})
        if "password_env" in table:
            table = _secret_from_env("smtp", table, "password", section="notifications")
        notifier = SmtpNotifier(_settings(SmtpSettings, "smtp", table, section="notifications"))
    else:
        secret = _CHANNEL_SECRETS[channel]
        values = _secret_from_env(
            channel, getattr(config, channel) or {}, secret, section="notifications"
        )
        if channel == "teams":
            notifier = TeamsNotifier(
                _settings(TeamsSettings, channel, values, section="notifications")
            )
        elif channel == "slack_bot":
            notifier = SlackNotifier(
                _settings(SlackBotSettings, channel, values, section="notifications")
            )
        else:
            notifier = SlackNotifier(
                _settings(SlackWebhookSettings, channel, values, section="notifications")
            )
    return ReliableNotifier(notifier, Outbox(config.outbox))


def open_approvals(config: ApprovalsConfig, gateway: Gateway) -> ApprovalService:
    """Approvals whose voters the policy decision point must allow (``approval.vote``),
    with roles from the bundle in force and, when configured, a fresh bound step-up."""

    def authorise(approver: str, item: ApprovalRequest) -> str | None:
        vote = AccessRequest(actor=approver, action="approval.vote", resource=f"approval:{item.id}")
        decision = gateway.authorize(vote)
        return None if decision.allowed else "; ".join(r.message for r in decision.reasons)

    step_up = None
    stepup = gateway.stepup
    if config.require_step_up and stepup is not None:

        def step_up(approver: str, digest: str) -> bool:
            return stepup.satisfies(StepUpObligation(policy="approval"), approver, bound_to=digest)

    audit = gateway.audit
    return ApprovalService.at(
        config.database,
        gateway.directory,
        authorise=authorise,
        roles=gateway.roles,
        step_up=step_up,
        audit=audit.append if audit is not None else None,
        reject_on_first=config.reject_on_first,
    )


def open_runtime(config: GatewayConfig, gateway: Gateway) -> Executor:
    """The guarded executor with the shipped actions bound to the configured systems: the
    configured directory when it can make changes (LDAP, Okta), else the embedded one; the
    Snipe-IT asset manager when ``[selfservice.snipeit]`` is set, else the embedded one."""
    from gateway.devices.embedded import EmbeddedDeviceManager
    from gateway.devices.installer import SoftwareInstaller
    from gateway.identity.directory import DirectoryActions
    from gateway.identity.embedded_actions import EmbeddedDirectoryActions
    from gateway.knowledge.actions import knowledge_actions
    from gateway.runtime.actions import ActionRegistry
    from gateway.runtime.builtin import (
        directory_actions,
        notification_actions,
        software_actions,
    )
    from gateway.runtime.executor import Executor, RuntimeSettings
    from gateway.runtime.sealing import OutputSealer
    from gateway.runtime.store import ExecutionStore
    from gateway.runtime.workflows import WorkflowCatalog

    settings = config.runtime
    changes: DirectoryActions
    closers: list[Callable[[], object]] = []
    if isinstance(gateway.directory, DirectoryActions):
        changes, system = gateway.directory, "directory"
    else:
        embedded = EmbeddedDirectoryActions(
            settings.embedded_systems / "directory.db", gateway.directory
        )
        changes, system = embedded, "embedded directory"
        closers.append(embedded.close)
    devices: SoftwareInstaller
    if config.selfservice.snipeit is not None:  # a real asset manager
        from gateway.devices.snipeit import SnipeItInstaller, snipeit_settings

        snipeit = SnipeItInstaller(snipeit_settings(config.selfservice.snipeit))
        devices = snipeit
        closers.append(snipeit.close)
    else:
        embedded_devices = EmbeddedDeviceManager(settings.embedded_systems / "devices.db")
        devices = embedded_devices
        closers.append(embedded_devices.close)
    notifier = build_notifier(config.notifications)
    actions = ActionRegistry(
        [
            *directory_actions(gateway.directory, changes, system=system),
            *software_actions(devices),
            *notification_actions(notifier),
            *knowledge_actions(config.knowledge),
        ]
    )

    def ask_approvers(item: ApprovalRequest) -> None:
        kind = NotificationKind.APPROVAL_REQUESTED
        notifier.send(approval_notice(kind, item, approvers_to_ask(item)))

    workflows = WorkflowCatalog.load(settings.workflows, actions)
    audit = gateway.audit
    executor = Executor(
        gateway,
        workflows,
        actions,
        ExecutionStore(settings.database),
        audit=audit.append if audit is not None else None,
        sealer=OutputSealer.from_key_file(settings.output_key, settings.output_ttl_seconds),
        settings=RuntimeSettings(
            system_actor=settings.system_actor,
            max_attempts=settings.max_attempts,
            backoff_seconds=settings.backoff_seconds,
            max_backoff_seconds=settings.max_backoff_seconds,
        ),
        approval_opened=ask_approvers,
    )
    for closer in closers:
        executor.close_with(closer)
    return executor


def background_jobs(
    config: GatewayConfig, gateway: Gateway, runtime: Executor
) -> list[Callable[[], object]]:
    """What a serving gateway does on every beat: resume executions (and the steps a dead
    process left), expire and escalate approvals (telling the people concerned), and
    retry undelivered notifications."""
    notifier = build_notifier(config.notifications)

    def approvals() -> None:
        if gateway.approvals is None:
            return
        for change in gateway.approvals.tick():
            kind = (
                NotificationKind.ESCALATED
                if change.kind == "escalated"
                else NotificationKind.EXPIRED
            )
            people = change.notify if change.kind == "escalated" else (change.request.requester,)
            notifier.send(approval_notice(kind, change.request, tuple(people)))

    return [approvals, runtime.tick, notifier.flush]


class Gateway(EnforcementPoint):
    """The enforcement point built from configuration: the policy bundle, the directory,
    the audit log, step-up, the change calendar and approvals, each as configured."""

    @classmethod
    def from_config(cls, config: GatewayConfig | None = None) -> Gateway:
        config = config if config is not None else load_config()
        audit = None if config.audit.unsafe_no_audit else open_audit_log(config.audit)
        if audit is None:
            warn_no_audit_log()
        policies = PolicyStore(config.policy.dir, audit=audit.append if audit is not None else None)
        tolerant = frozenset(config.identity.stale_tolerant_actions)
        directory = build_directory(config.identity)
        stepup = open_stepup(config.stepup, audit) if config.stepup.enabled else None
        changes = ChangeCalendar(config.changes.calendar)
        gateway = cls(
            policies,
            directory,
            audit,
            stale_tolerant_actions=tolerant,
            stepup=stepup,
            changes=changes,
        )
        if isinstance(directory, IdentityResolver):
            directory.on_conflict = gateway.record_conflict
        if config.approvals.enabled:
            gateway.approvals = open_approvals(config.approvals, gateway)
            gateway.auto_approver = AutoApprover(
                gateway.approvals,
                gateway.decision_point,
                record=gateway._audited,
                gateway_context=gateway.gateway_context,
            )
            gateway.approval_reads = ApprovalReads(
                gateway.approvals, gateway.decision_point, record=gateway._audited
            )
        return gateway
