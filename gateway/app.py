"""The composition root: builds the gateway's parts from configuration, nothing else."""

from __future__ import annotations

from gateway.audit.keys import PRIVATE_KEY_FILE, init_keys, load_signer
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditEvent
from gateway.config import AuditConfig, GatewayConfig, load_config
from gateway.errors import DirectoryUnavailableError, UnknownActorError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.facts import IdentityFacts
from gateway.identity.resolver import Conflict
from gateway.identity.static import StaticDirectory
from gateway.policy.decision import Decision
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.request import AccessRequest
from gateway.policy.store import PolicyStore

__all__ = ["Gateway", "open_audit_log"]


def open_audit_log(config: AuditConfig) -> AuditLog:
    """The configured audit log, making its signing key first when allowed and missing."""
    key_path = config.signing_key
    if config.create_key and not key_path.exists() and key_path.name == PRIVATE_KEY_FILE:
        init_keys(key_path.parent)
    return AuditLog(config.log, load_signer(key_path))


def decision_event(decision: Decision) -> AuditEvent:
    request = decision.request
    return AuditEvent(
        type="decision",
        actor=request.actor,
        action=request.action,
        resource=str(request.resource),
        decision_id=decision.decision_id,
        policy_digest=decision.policy_digest,
        payload={
            "decision": str(decision.decision),
            "context": request.context,
            "obligations": [item.model_dump(mode="json") for item in decision.obligations],
            "reasons": [reason.model_dump(mode="json") for reason in decision.reasons],
        },
    )


class Gateway:
    """The gateway as a Python caller sees it: ask for a decision, get one you can trust.

    With an audit log, every decision is appended (durably) before it is returned; if the
    append fails, ``AuditWriteError`` is raised and no decision is given.
    """

    def __init__(
        self,
        policies: PolicyStore,
        directory: DirectoryConnector,
        audit: AuditLog | None = None,
    ) -> None:
        self.policies = policies
        self.directory = directory
        self.audit = audit
        self.decision_point = PolicyDecisionPoint(lambda: policies.engine)

    @classmethod
    def from_config(cls, config: GatewayConfig | None = None) -> Gateway:
        config = config if config is not None else load_config()
        directory = StaticDirectory.load(config.identity.static_file)
        policies = PolicyStore(config.policy.dir)
        audit = open_audit_log(config.audit) if config.audit.enabled else None
        return cls(policies, directory, audit)

    def authorize(self, request: AccessRequest) -> Decision:
        """Decide ``request`` with the actor's and the resource's directory facts.

        A directory that cannot be reached (and has no usable cached facts) gives a deny
        that says so: never an allow on facts that could not be read.
        """
        try:
            try:
                actor: IdentityFacts | None = self.directory.get_user(request.actor)
            except UnknownActorError:
                actor = None
            ref = request.resource
            resource = self.directory.get_resource(ref.type, ref.id)
        except DirectoryUnavailableError as exc:
            decision = self.decision_point.refuse(request, str(exc))
        else:
            decision = self.decision_point.decide(request, actor, resource)
        if self.audit is not None:
            self.audit.append(decision_event(decision))
        return decision

    def record_conflict(self, conflict: Conflict) -> None:
        """Sources disagreed about a fact: keep it in the audit log."""
        if self.audit is not None:
            self.audit.append(
                AuditEvent(
                    type="identity.conflict",
                    actor=conflict.user_id,
                    payload={
                        "fact": conflict.fact,
                        "values": conflict.values,
                        "chosen": conflict.chosen,
                    },
                )
            )

    def close(self) -> None:
        if self.audit is not None:
            self.audit.close()
