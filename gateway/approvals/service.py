"""The approval service: open a request, collect votes, expire and escalate.

Invariants, in the order a vote keeps them:

1. A vote is refused (and the refusal audited) unless the request is pending and not
   overdue, the vote names the request's digest, the voter is neither the requester nor
   the target, is an active directory user eligible for at least one obligation (at the
   vote's time, escalation included), passes the ``authorise`` check and, when a step-up
   check is configured, has a fresh step-up bound to the request's digest.
2. The state is re-read and the vote counted inside one write transaction, so concurrent
   votes are serialised: the vote that completes the last quorum makes the one
   ``approved`` transition; every other vote is counted once or refused.
3. A person counts once per obligation: repeating a vote changes nothing; voting the
   other way is refused.
4. Every transition is appended to the audit sink *before* it is committed: if the sink
   raises, the transaction is rolled back and nothing changes.
5. A request one of whose obligations nobody can give (``gateway.approvals.givable``)
   is never left waiting: that obligation escalates at once when its ``escalate_to`` can
   give it, else opening is refused (``NoApproverError``, audited as ``approval.refused``).
6. An automatic approval (``approve_automatically``, asked by ``gateway.approvals.auto``)
   is no vote: it records the ``approval.auto`` decision apart from the votes, in the same
   transaction as its audit record, and only while the request is pending.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.approvals.eligibility import RoleResolver, matches, no_roles
from gateway.approvals.errors import (
    ApprovalError,
    ConflictingVoteError,
    DigestMismatchError,
    NoApproverError,
    NotAuthorisedError,
    NotEligibleError,
    RequestFinishedError,
    SelfApprovalError,
    StepUpRequiredError,
    UnknownApprovalError,
)
from gateway.approvals.givable import escalations
from gateway.approvals.model import (
    ApprovalRequest,
    ApprovalState,
    AutoApproval,
    Change,
    Verdict,
    Vote,
    approval_digest,
)
from gateway.approvals.notices import recipients
from gateway.approvals.store import ApprovalStore, Transaction, format_time
from gateway.audit.records import AuditEvent
from gateway.audit.sink import AuditSink
from gateway.clock import Clock, utcnow
from gateway.errors import UnknownActorError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.facts import AccountStatus, IdentityFacts
from gateway.policy.decision import ApprovalObligation, Decision
from gateway.policy.request import AccessRequest, caller_request
from gateway.storage import Backend

__all__ = ["ApprovalService", "Authorise", "StepUpCheck"]

Authorise = Callable[[str, ApprovalRequest], str | None]
"""``authorise(approver, request)``: ``None`` to let the vote count, else why not."""
StepUpCheck = Callable[[str, str], bool]
"""``step_up(approver, digest)``: whether the approver stepped up, bound to ``digest``."""


def _new_id() -> str:
    return uuid.uuid4().hex


class ApprovalService:
    """Approvals as durable state machines over an ``ApprovalStore``; thread-safe."""

    def __init__(
        self,
        store: ApprovalStore,
        directory: DirectoryConnector,
        *,
        authorise: Authorise,
        roles: RoleResolver = no_roles,
        step_up: StepUpCheck | None = None,
        audit: AuditSink | None = None,
        clock: Clock = utcnow,
        reject_on_first: bool = True,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self.store = store
        self.directory = directory
        self.reject_on_first = reject_on_first
        self._authorise = authorise
        self._roles = roles
        self._step_up = step_up
        self._audit = audit
        self._clock = clock
        self._new_id = new_id

    @classmethod
    def at(
        cls,
        path: Path,
        directory: DirectoryConnector,
        *,
        backend: Backend | None = None,
        **options: Any,
    ) -> ApprovalService:
        """A service over the store at ``path`` (created when missing), or over its tables
        on ``backend``."""
        return cls(ApprovalStore(path, backend=backend), directory, **options)

    # -- opening -----------------------------------------------------------------------

    def open(
        self,
        request: AccessRequest,
        decision: Decision,
        obligations: Sequence[ApprovalObligation],
        *,
        requester: str,
    ) -> ApprovalRequest:
        """Open a pending approval for ``request``, as required by ``decision``.
        ``NoApproverError`` (audited) when nobody can give one of the obligations."""
        if not obligations:
            raise RuntimeError("an approval needs at least one approval obligation")
        if not decision.allowed or caller_request(decision.request) != caller_request(request):
            raise RuntimeError("approvals are opened for the allow decision of this request")
        now = self._clock()
        target = request.resource.id if request.resource.type == "account" else None
        manager = None
        if any("manager" in (*o.approvers, *o.escalate_to) for o in obligations):
            manager = self.directory.get_user(target if target is not None else requester).manager
        item = ApprovalRequest(
            id=self._new_id(),
            request=request,
            decision_id=decision.decision_id,
            policy_digest=decision.policy_digest,
            obligations=tuple(obligations),
            digest=approval_digest(request),
            requester=requester,
            target=target,
            manager=manager,
            created_at=now,
            expires_at=now + timedelta(seconds=min(o.expires_seconds for o in obligations)),
        )
        escalate = self._nobody_can_give(item)
        item = replace(item, escalated=frozenset(escalate))
        with self.store.transaction() as tx:
            tx.insert(item)
            self._emit(
                "approval.opened",
                requester,
                item,
                {
                    "digest": item.digest,
                    "obligations": [o.model_dump(mode="json") for o in obligations],
                    "target": target,
                    "manager": manager,
                    "expires_at": format_time(item.expires_at),
                },
            )
            for index, why in escalate.items():
                tx.mark_escalated(item.id, index, now)
                obligation = item.obligations[index]
                payload = {"obligation": obligation.name, "why": why,
                           "escalate_to": list(obligation.escalate_to)}  # fmt: skip
                self._emit("approval.escalated", None, item, payload)
        return item

    def _nobody_can_give(self, item: ApprovalRequest) -> dict[int, str]:
        """The obligations to escalate at once (``givable.escalations``); a refusal is
        audited (no approval id: nothing was opened) and raised."""
        try:
            return escalations(item, self.directory)
        except NoApproverError as error:
            request = item.request
            if self._audit is not None:
                self._audit(AuditEvent(
                    type="approval.refused", actor=item.requester, action=request.action,
                    resource=str(request.resource), decision_id=item.decision_id,
                    policy_digest=item.policy_digest,
                    payload={"attempt": "open", "reason": error.reason, "message": str(error),
                             "obligation": error.obligation},
                ))  # fmt: skip
            raise

    # -- reading -----------------------------------------------------------------------

    def get(self, request_id: str) -> ApprovalRequest:
        with self.store.transaction(write=False) as tx:
            item = tx.load(request_id)
        if item is None:
            raise UnknownApprovalError(request_id)
        return item

    def is_satisfied(self, request_id: str, digest: str) -> bool:
        """Whether the request is approved and bound to exactly ``digest``."""
        with self.store.transaction(write=False) as tx:
            item = tx.load(request_id)
        return item is not None and item.state is ApprovalState.APPROVED and item.digest == digest

    def may_vote(self, item: ApprovalRequest, person: IdentityFacts) -> bool:
        """Whether ``person`` is an approver of an obligation of ``item`` now (escalation
        included), neither requester nor target; state and account status aside."""
        if person.id in _parties(item) or person.id == item.target:
            return False
        return bool(self._eligible(item, person, self._clock()))

    def list_pending(self, approver: str) -> list[ApprovalRequest]:
        """The pending, not overdue requests ``approver`` could still vote on, oldest
        first; nothing for an inactive account (its vote would be refused)."""
        now = self._clock()
        try:
            person = self.directory.get_user(approver)
        except UnknownActorError:
            return []
        if person.status is not AccountStatus.ACTIVE:
            return []
        with self.store.transaction(write=False) as tx:
            pending = tx.pending()
        return [
            item
            for item in pending
            if now < item.expires_at
            and approver not in _parties(item)
            and approver != item.target
            and any(
                approver not in {v.approver for v in item.votes if v.obligation == index}
                for index in self._eligible(item, person, now)
            )
        ]

    # -- voting ------------------------------------------------------------------------

    def approve(self, request_id: str, approver: str, *, digest: str) -> ApprovalRequest:
        """Count ``approver``'s approval; approved once every obligation has its quorum."""
        return self._vote(request_id, approver, digest, Verdict.APPROVE)

    def reject(self, request_id: str, approver: str, *, digest: str) -> ApprovalRequest:
        """Count ``approver``'s rejection; by default one rejection rejects the request."""
        return self._vote(request_id, approver, digest, Verdict.REJECT)

    def cancel(self, request_id: str, by: str) -> ApprovalRequest:
        """Withdraw a pending request; only its requester (or the request's actor) may."""
        now = self._clock()
        item: ApprovalRequest | None = None
        try:
            item = self._pending(request_id, now)
            if by not in _parties(item):
                raise NotEligibleError(request_id, by, "is not the requester and cannot cancel")
            with self.store.transaction() as tx:
                current = self._reload(tx, request_id)
                tx.finish(request_id, ApprovalState.CANCELLED, now, by)
                self._emit("approval.cancelled", by, current, {"state": "cancelled"})
            return replace(current, state=ApprovalState.CANCELLED, finished_at=now, finished_by=by)
        except ApprovalError as exc:
            self._refused("cancel", by, request_id, item, exc)
            raise

    def _vote(
        self, request_id: str, approver: str, digest: str, verdict: Verdict
    ) -> ApprovalRequest:
        now = self._clock()
        item: ApprovalRequest | None = None
        try:
            item = self._pending(request_id, now)
            # who may vote first: only an eligible voter is told the digest it should send
            eligible = self._check_voter(item, approver, now)
            if digest != item.digest:
                raise DigestMismatchError(request_id, item.digest, digest)
            with self.store.transaction() as tx:
                current = self._reload(tx, request_id)
                return self._count(tx, current, approver, eligible, verdict, now)
        except ApprovalError as exc:
            self._refused(str(verdict), approver, request_id, item, exc)
            raise

    def _check_voter(self, item: ApprovalRequest, approver: str, now: datetime) -> list[int]:
        """The obligations ``approver`` may vote on; raises when the vote must be refused."""
        if approver in _parties(item):
            raise SelfApprovalError(item.id, approver, "requester")
        if approver == item.target:
            raise SelfApprovalError(item.id, approver, "target")
        try:
            person = self.directory.get_user(approver)
        except UnknownActorError:
            raise NotEligibleError(item.id, approver, "is not in the directory") from None
        if person.status is not AccountStatus.ACTIVE:
            raise NotEligibleError(item.id, approver, f"account is {person.status}")
        eligible = self._eligible(item, person, now)
        if not eligible:
            raise NotEligibleError(item.id, approver, "is not an approver of this request")
        why = self._authorise(approver, item)
        if why is not None:
            raise NotAuthorisedError(item.id, approver, why)
        if self._step_up is not None and not self._step_up(approver, item.digest):
            raise StepUpRequiredError(item.id, approver)
        return eligible

    def _eligible(self, item: ApprovalRequest, person: IdentityFacts, now: datetime) -> list[int]:
        return [
            index
            for index in range(len(item.obligations))
            if any(
                matches(spec, person, item.manager, self._roles)
                for spec in item.approvers_at(index, now)
            )
        ]

    def _count(
        self,
        tx: Transaction,
        item: ApprovalRequest,
        approver: str,
        eligible: list[int],
        verdict: Verdict,
        now: datetime,
    ) -> ApprovalRequest:
        earlier = {v.obligation: v.verdict for v in item.votes if v.approver == approver}
        for index in eligible:
            if earlier.get(index, verdict) is not verdict:
                raise ConflictingVoteError(item.id, approver, str(verdict), str(earlier[index]))
        new = [Vote(i, approver, verdict, now) for i in eligible if i not in earlier]
        if not new:
            return item  # a repeated vote: counted already
        for vote in new:
            tx.add_vote(item.id, vote)
        updated = replace(item, votes=(*item.votes, *new))
        if verdict is Verdict.APPROVE:
            done = updated.all_met
            state = ApprovalState.APPROVED
        else:
            done = self.reject_on_first or any(
                len(updated.voters(i, Verdict.REJECT)) >= o.quorum
                for i, o in enumerate(updated.obligations)
            )
            state = ApprovalState.REJECTED
        payload: dict[str, object] = {
            "verdict": str(verdict),
            "obligations": [item.obligations[vote.obligation].name for vote in new],
            "approvals": {
                o.name: sorted(updated.voters(i, Verdict.APPROVE))
                for i, o in enumerate(updated.obligations)
            },
            "digest": item.digest,
        }
        if not done:
            self._emit("approval.voted", approver, updated, {**payload, "state": "pending"})
            return updated
        tx.finish(item.id, state, now, approver)
        self._emit(f"approval.{state}", approver, updated, {**payload, "state": str(state)})
        return replace(updated, state=state, finished_at=now, finished_by=approver)

    # -- automatic approval ------------------------------------------------------------

    def approve_automatically(self, request_id: str, decision: Decision) -> ApprovalRequest:
        """Approve a pending request because ``decision`` (an allow without obligations on
        ``approval:ID``) says policy approves it: every obligation counts as met and nobody
        is recorded as a voter.  A request no longer pending (or overdue, which expires it)
        is returned as it is, so asking twice changes nothing."""
        target = f"approval:{request_id}"
        if not decision.allowed or decision.obligations or str(decision.request.resource) != target:
            raise RuntimeError(f"automatic approval needs an allow without obligations on {target}")
        now = self._clock()
        try:
            self._pending(request_id, now)
            with self.store.transaction() as tx:
                current = self._reload(tx, request_id)
                auto = AutoApproval.of(decision, now)
                tx.add_auto_approval(request_id, auto)
                tx.finish(request_id, ApprovalState.APPROVED, now, None)
                done = replace(current, state=ApprovalState.APPROVED, finished_at=now, auto=auto)
                payload = {"policies": list(auto.policies), "decision_id": auto.decision_id}
                names = [o.name for o in current.obligations]
                payload |= {"obligations": names, "digest": current.digest, "state": "approved"}
                self._emit("approval.auto_approved", None, done, payload)
            return done
        except RequestFinishedError:
            return self.get(request_id)

    # -- time --------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[Change]:
        """Expire overdue requests and fire due escalations; what changed, for notifiers."""
        moment = now if now is not None else self._clock()
        with self.store.transaction(write=False) as tx:
            pending = tx.pending()
        changes: list[Change] = []
        for item in pending:
            with self.store.transaction() as tx:
                current = tx.load(item.id)
                if current is None or not current.pending:
                    continue  # finished meanwhile
                if moment >= current.expires_at:
                    changes.append(Change("expired", self._expire(tx, current, moment)))
                    continue
                for index, obligation in enumerate(current.obligations):
                    at = current.escalate_at(index)
                    if at is None or moment < at or index in current.escalated:
                        continue
                    if current.met(index):
                        continue
                    tx.mark_escalated(current.id, index, moment)
                    current = replace(current, escalated=current.escalated | {index})
                    notify = recipients(current, obligation.escalate_to)
                    self._emit(
                        "approval.escalated",
                        None,
                        current,
                        {
                            "obligation": obligation.name,
                            "escalate_to": list(obligation.escalate_to),
                        },
                    )
                    changes.append(Change("escalated", current, index, notify))
        return changes

    def _expire(self, tx: Transaction, item: ApprovalRequest, now: datetime) -> ApprovalRequest:
        tx.finish(item.id, ApprovalState.EXPIRED, now, None)
        self._emit("approval.expired", None, item, {"expires_at": format_time(item.expires_at)})
        return replace(item, state=ApprovalState.EXPIRED, finished_at=now)

    # -- helpers -----------------------------------------------------------------------

    def _pending(self, request_id: str, now: datetime) -> ApprovalRequest:
        """The request, expired first if it is overdue; refused unless still pending."""
        item = self.get(request_id)
        if item.pending and now >= item.expires_at:
            with self.store.transaction() as tx:
                item = self._expire(tx, self._reload(tx, request_id), now)
        if not item.pending:
            raise RequestFinishedError(request_id, str(item.state))
        return item

    @staticmethod
    def _reload(tx: Transaction, request_id: str) -> ApprovalRequest:
        current = tx.load(request_id)
        if current is None or not current.pending:  # finished (or gone) meanwhile
            raise RequestFinishedError(request_id, str(current.state) if current else "nothing")
        return current

    def _refused(
        self,
        attempt: str,
        actor: str,
        request_id: str,
        item: ApprovalRequest | None,
        error: ApprovalError,
    ) -> None:
        payload = {"attempt": attempt, "reason": error.reason, "message": str(error)}
        self._emit("approval.refused", actor, item, {"approval_id": request_id, **payload})

    def _emit(
        self, kind: str, actor: str | None, item: ApprovalRequest | None, payload: dict[str, Any]
    ) -> None:
        if self._audit is None:
            return
        if item is None:
            self._audit(AuditEvent(type=kind, actor=actor, payload=payload))
            return
        self._audit(
            AuditEvent(
                type=kind,
                actor=actor,
                action=item.request.action,
                resource=str(item.request.resource),
                decision_id=item.decision_id,
                policy_digest=item.policy_digest,
                payload={"approval_id": item.id, **payload},
            )
        )


def _parties(item: ApprovalRequest) -> frozenset[str]:
    """Who asked: the requester and the request's actor (never approvers)."""
    return frozenset({item.requester, item.request.actor})
