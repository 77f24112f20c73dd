"""The enforcement point built from configuration: ``Gateway.from_config``, with the audit
log, step-up and approvals it holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from gateway.app.directory import build_directory, load_directory_into_engines
from gateway.approvals.auto import AutoApprover
from gateway.approvals.model import ApprovalRequest
from gateway.approvals.reading import ApprovalReads
from gateway.approvals.service import ApprovalService
from gateway.audit.database import DatabaseAuditLog
from gateway.audit.keys import PRIVATE_KEY_FILE, init_keys, load_signer
from gateway.audit.log import AuditLog
from gateway.audit.store import AuditStore
from gateway.audit.unsafe import warn_no_audit_log
from gateway.changes.setup import open_change_calendar
from gateway.config import ApprovalsConfig, AuditConfig, GatewayConfig, StepUpConfig, load_config
from gateway.enforcement.point import EnforcementPoint
from gateway.errors import ConfigError
from gateway.identity.resolver import IdentityResolver
from gateway.policy.decision import StepUpObligation
from gateway.policy.request import AccessRequest
from gateway.policy.settings import DEVELOPMENT_KEY_STEM
from gateway.policy.store import PolicyStore
from gateway.policy.trust import BundleTrust, open_trust
from gateway.privacy.sealer import open_sealer
from gateway.privacy.settings import PrivacySettings
from gateway.stepup.service import StepUpService
from gateway.storage import Backend, SqliteBackend, open_backend

__all__ = ["Gateway", "open_approvals", "open_audit_log", "open_policy_trust", "open_stepup"]


def open_policy_trust(config: GatewayConfig) -> BundleTrust:
    """The keys a policy bundle must be signed with (``[policy] trusted_keys``), or the
    development key next to the audit signing key when none are configured."""
    policy = config.policy
    development = config.audit.signing_key.parent / f"{DEVELOPMENT_KEY_STEM}.key"
    return open_trust(
        [(key.signer, key.public_key) for key in policy.trusted_keys],
        policy.threshold,
        development_key=development,
        create_key=config.audit.create_key,
        revoked=policy.revoked_keys,
    )


def open_audit_log(
    config: AuditConfig, privacy: PrivacySettings | None = None, storage: Backend | None = None
) -> AuditStore:
    """The configured audit log, making its signing key first when allowed and missing,
    sealing personal fields with data keys from ``privacy.key_store`` when ``privacy.seal``
    (on ``storage``, shared by every process on PostgreSQL; its SQLite file when not given).
    On PostgreSQL the log itself is a table of the shared database, one chain for every
    process and host (``gateway.audit.database``); otherwise the file ``[audit] log``."""
    key_path = config.signing_key
    if config.create_key and not key_path.exists() and key_path.name == PRIVATE_KEY_FILE:
        init_keys(key_path.parent)
    signer = load_signer(key_path)
    sealer = open_sealer(privacy, storage) if privacy is not None and privacy.seal else None
    if storage is not None and storage.name == "postgresql":
        return DatabaseAuditLog(storage, signer, sealer=sealer)
    return AuditLog(config.log, signer, sealer=sealer)


def open_stepup(
    config: StepUpConfig, audit: AuditStore | None, storage: Backend | None = None
) -> StepUpService:
    """The step-up service, recording enrolments and verifications in the audit log, its
    tables on ``storage`` (SQLite files when not given)."""
    return StepUpService.open(
        config, audit=audit.append if audit is not None else None, backend=storage
    )


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
        backend=gateway.storage,
        authorise=authorise,
        roles=gateway.roles,
        step_up=step_up,
        audit=audit.append if audit is not None else None,
        reject_on_first=config.reject_on_first,
    )


class Gateway(EnforcementPoint):
    """The enforcement point built from configuration: the policy bundle, the directory,
    the audit log, step-up, the change calendar and approvals, each as configured;
    ``storage`` is the backend every store of this process opens its tables on."""

    storage: Backend = SqliteBackend()
    # Builds the gateway of a field kit (``gateway --offline KIT``); set by gateway.app.offline.
    kit_gateway: ClassVar[Callable[[GatewayConfig], Gateway] | None] = None

    @classmethod
    def from_config(cls, config: GatewayConfig | None = None) -> Gateway:
        config = config if config is not None else load_config()
        if config.offline.kit is not None and cls is Gateway:  # gateway --offline KIT
            if Gateway.kit_gateway is None:
                raise ConfigError("offline mode is not available (gateway.app.offline)")
            return Gateway.kit_gateway(config)
        storage = open_backend(config.storage)  # first: the sealer's data keys live there
        audit = (
            None
            if config.audit.unsafe_no_audit
            else open_audit_log(config.audit, config.privacy, storage)
        )
        if audit is None:
            warn_no_audit_log()
        policies = PolicyStore(
            config.policy.dir,
            audit=audit.append if audit is not None else None,
            trust=open_policy_trust(config),
        )
        tolerant = frozenset(config.identity.stale_tolerant_actions)
        directory = build_directory(config.identity)
        load_directory_into_engines(policies, directory, config.identity)
        stepup = open_stepup(config.stepup, audit, storage) if config.stepup.enabled else None
        changes = open_change_calendar(config.changes.calendar, config.changes.servicenow)
        gateway = cls(
            policies,
            directory,
            audit,
            stale_tolerant_actions=tolerant,
            stepup=stepup,
            changes=changes,
        )
        gateway.storage = storage
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

    def close(self) -> None:
        if self.changes is not None:
            self.changes.close()  # its ServiceNow client, when configured
        super().close()
        self.storage.close()  # after the stores that use it
