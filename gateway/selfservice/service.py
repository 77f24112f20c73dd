"""The self-service catalog as people use it: browse, validate, dry-run, run, follow.

A run goes through these checks, in order, and each refusal is recorded (counted by
reason, per item and department) and audited before it is raised; nothing is executed:

1. the item exists; 2. the parameters are valid (``ParameterError`` names each one);
3. maintenance windows, blast radius and allowed targets; 4. the workflow accepts what
the item hands it; 5. rate limits, quotas and concurrency, counted in the transaction
that admits the run; 6. the policy decision point on ``selfservice.run`` (audited), whose
obligations hold the run: above the item's approval threshold the policy asks for an
approval, and the run waits for it before any execution starts.

An admitted and allowed run starts one workflow execution per target through the guarded
runtime, which decides, audits and performs every privileged step.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from gateway.approvals.model import ApprovalRequest, ApprovalState
from gateway.audit.records import AuditEvent
from gateway.audit.sink import AuditSink
from gateway.clock import Clock, utcnow
from gateway.devices.inventory import DeviceInventory
from gateway.enforcement.step_guard import Allowed, DecisionMaker, Refused, StepGuard
from gateway.errors import GatewayError
from gateway.expressions import render_value
from gateway.policy.decision import ApprovalObligation
from gateway.policy.request import AccessRequest
from gateway.runtime.errors import IdempotencyConflictError, ParameterError
from gateway.runtime.executor import Executor, request_digest
from gateway.runtime.waiting import AwaitingApproval, Waiting, check_obligations
from gateway.selfservice.admission import check_limits
from gateway.selfservice.analytics import UsageReport
from gateway.selfservice.browsing import CHANNEL, CatalogBrowser, FactsAndDecisions, item_context
from gateway.selfservice.catalog import Catalog, CatalogItem
from gateway.selfservice.conflicts import busy_target, in_flight, target_locks
from gateway.selfservice.errors import (
    RunRefusedError,
    RunStateError,
    UnknownItemError,
    UnknownRunError,
)
from gateway.selfservice.guardrails import above_threshold, check_static
from gateway.selfservice.inputs import CheckedInput, ValueSource, check_input
from gateway.selfservice.model import DryRunPlan, Refusal, RefusalReason, Run, RunState
from gateway.selfservice.runs import RunKeeper, run_event
from gateway.selfservice.schema import check_submission, item_schema
from gateway.selfservice.store import RunStore

__all__ = ["CatalogGateway", "SelfService"]

# A run still only admitted after this long was left by a process that died before its
# decision: ``resume`` (and so ``tick``) decides it then, so it never holds a slot for ever.
ADMISSION_GRACE = timedelta(seconds=60)


class CatalogGateway(DecisionMaker, FactsAndDecisions, Protocol):
    """What the catalog needs from the gateway: facts, decisions, obligations."""


@dataclass(frozen=True, slots=True)
class _Prepared:
    item: CatalogItem
    department: str
    checked: CheckedInput
    plans: list[dict[str, Any]]
    above: bool


class SelfService:
    def __init__(
        self,
        catalog: Catalog,
        gateway: CatalogGateway,
        executor: Executor,
        store: RunStore,
        inventory: DeviceInventory,
        sources: Mapping[str, ValueSource],
        *,
        audit: AuditSink | None,
        clock: Clock = utcnow,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        visibility_ttl: float = 30.0,
        approval_opened: Callable[[ApprovalRequest], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.gateway = gateway
        self.executor = executor
        self.store = store
        self.inventory = inventory
        self.sources = dict(sources)
        self.runs = RunKeeper(executor, store, audit, clock)
        self._clock = clock
        self._new_id = new_id
        self.browser = CatalogBrowser(catalog, gateway, self.sources, ttl=visibility_ttl)
        self._guard = StepGuard(gateway, approval_opened=approval_opened)

    # -- checking ------------------------------------------------------------------------

    def _refuse(
        self, item_id: str, actor: str, department: str, refusal: Refusal
    ) -> RunRefusedError:
        """Record and audit the refusal; the error to raise."""
        now = self._clock()
        with self.store.transaction() as tx:
            tx.refuse(item_id[:64], actor, department, str(refusal.reason), refusal.message, now)
            self.runs.record(
                AuditEvent(
                    type="selfservice.refused",
                    actor=actor,
                    action="selfservice.run",
                    resource=f"catalog_item:{item_id[:64]}",
                    payload={
                        "item": item_id[:64],
                        "reason": str(refusal.reason),
                        "message": refusal.message,
                    },
                )
            )
        return RunRefusedError(item_id[:64], str(refusal.reason), refusal.message)

    def _prepare(self, actor: str, item_id: str, given: Mapping[str, object]) -> _Prepared:
        department = self.gateway.directory.get_user(actor).department
        try:
            item = self.catalog.get(item_id)
        except UnknownItemError as exc:
            self._refuse(item_id, actor, department, Refusal(RefusalReason.UNKNOWN_ITEM, str(exc)))
            raise
        d = item.definition
        try:
            checked = check_input(item, given, actor, self.sources)
        except ParameterError as exc:
            self._refuse(
                item.id, actor, department, Refusal(RefusalReason.INVALID_PARAMETERS, str(exc))
            )
            raise
        refusal = check_static(d.guardrails, checked.targets, actor, self._clock(), self.inventory)
        if refusal is not None:
            raise self._refuse(item.id, actor, department, refusal)
        try:  # the form a portal shows this person is the contract: checked the same way
            schema = item_schema(item, self.browser.choices(actor, item))
            secrets = {n: v.get_secret_value() for n, v in checked.secrets.items()}
            check_submission(schema, {**checked.plain, **secrets}, f"catalog item {item.id}")
        except ParameterError as exc:
            self._refuse(
                item.id, actor, department, Refusal(RefusalReason.INVALID_PARAMETERS, str(exc))
            )
            raise
        workflow = self.executor.workflows.get(d.workflow)
        plans: list[dict[str, Any]] = []
        try:
            for target in checked.targets or (None,):
                scope = {"params": checked.plain, "actor": actor, "target": target}
                rendered = render_value(d.with_, scope)
                plain, _ = workflow.parameter_set.validate(rendered)
                plans.append(plain)
        except ParameterError as exc:
            self._refuse(
                item.id, actor, department, Refusal(RefusalReason.INVALID_PARAMETERS, str(exc))
            )
            raise
        return _Prepared(
            item, department, checked, plans, above_threshold(d.guardrails, checked.targets)
        )

    def _run_request(self, actor: str, prepared: _Prepared, ticket: str | None) -> AccessRequest:
        context: dict[str, Any] = {
            **item_context(prepared.item),
            "targets": len(prepared.checked.targets),
            "above_threshold": prepared.above,
            "parameters": prepared.checked.plain,  # binds an approval to exactly these
        }
        if ticket is not None:
            context["ticket"] = ticket
        return AccessRequest(
            actor=actor,
            action="selfservice.run",
            resource=f"catalog_item:{prepared.item.id}",
            context=context,
        )

    # -- dry run -------------------------------------------------------------------------

    def dry_run(self, actor: str, item_id: str, given: Mapping[str, object]) -> DryRunPlan:
        """What a run would do now; nothing is executed, no quota is used."""
        prepared = self._prepare(actor, item_id, given)
        item = prepared.item
        decision = self.gateway.authorize(self._run_request(actor, prepared, None))
        reasons = [reason.message for reason in decision.reasons]
        needs_approval = any(isinstance(o, ApprovalObligation) for o in decision.obligations)
        now = self._clock()
        workflow = self.executor.workflows.get(item.definition.workflow)
        with self.store.transaction() as tx:
            limits = check_limits(tx, item, actor, now)
            tx.dry_run(item.id, actor, prepared.department, now)
            self.runs.record(
                AuditEvent(
                    type="selfservice.dry_run",
                    actor=actor,
                    action="selfservice.run",
                    resource=f"catalog_item:{item.id}",
                    decision_id=decision.decision_id,
                    payload={"item": item.id, "parameters": prepared.checked.plain},
                )
            )
        steps = [
            {"step": step.id, "action": step.action or "schedule", "when": step.when}
            for step in workflow.definition.steps
        ]
        return DryRunPlan(
            item=item.id,
            actor=actor,
            allowed=decision.allowed,
            reasons=reasons,
            needs_approval=needs_approval,
            executions=[
                {"workflow": workflow.id, "parameters": plan, "steps": steps}
                for plan in prepared.plans
            ],
            guardrails=limits.report,
            refusal=limits.refusal,
        )

    # -- running -------------------------------------------------------------------------

    def run(
        self,
        actor: str,
        item_id: str,
        given: Mapping[str, object],
        *,
        ticket: str | None = None,
        idempotency_key: str | None = None,
        background: bool = False,
    ) -> Run:
        """Check, admit, decide and start the run; returns where it stands."""
        prepared = self._prepare(actor, item_id, given)
        item = prepared.item
        plain = prepared.checked.plain
        digest = request_digest(f"catalog:{item.id}", plain, ticket)
        now = self._clock()
        minutes = item.definition.minutes_saved * max(1, len(prepared.checked.targets))
        run = Run(
            id=self._new_id(),
            item=item.id,
            item_version=item.definition.version,
            actor=actor,
            department=prepared.department,
            state=RunState.ADMITTED,
            created_at=now,
            updated_at=now,
            parameters=plain,
            targets=prepared.checked.targets,
            ticket=ticket,
            minutes_saved=minutes,
        )
        locks = target_locks(self.executor, item.definition.workflow, prepared.plans)
        resync = self.runs.resync
        with self.store.transaction() as tx:
            if idempotency_key is not None:
                found = tx.find_idempotent(actor, idempotency_key)
                if found is not None:
                    if found[1] != digest:
                        raise IdempotencyConflictError(idempotency_key, found[0].id)
                    return found[0]
            same = in_flight(tx, actor, item.id, digest, resync)
            if same is not None:
                return same
            refusal = busy_target(tx, locks, resync)
            if refusal is None:
                refusal = check_limits(tx, item, actor, now, resync).refusal
            if refusal is None:
                tx.insert(
                    run,
                    idempotency_key=idempotency_key,
                    request_digest=digest,
                    locks=tuple(target for target, _ in locks),
                )
                self.runs.record(
                    run_event(
                        "selfservice.run_admitted",
                        run,
                        {"parameters": plain, "targets": list(run.targets)},
                    )
                )
        if refusal is not None:
            raise self._refuse(item.id, actor, prepared.department, refusal)
        return self._decide(
            run, item, self._run_request(actor, prepared, ticket), prepared.plans, background
        )

    def _decide(
        self,
        run: Run,
        item: CatalogItem,
        request: AccessRequest,
        plans: list[dict[str, Any]],
        background: bool,
    ) -> Run:
        outcome = check_obligations(self._guard, request, run.approval_id, consumer=f"run:{run.id}")
        now = self._clock()
        if isinstance(outcome, Allowed):
            allowed = replace(run, decision_id=outcome.decision.decision_id)
            return self.runs.start(
                allowed, item.definition.workflow, plans, CHANNEL, background=background
            )
        if isinstance(outcome, Refused):
            reason = RefusalReason.UNAVAILABLE if outcome.unavailable else RefusalReason.DENIED
            refused = replace(
                run,
                state=RunState.REFUSED,
                decision_id=outcome.decision_id,
                error=outcome.reason,
                status=f"refused: {outcome.reason}",
                waiting=None,
                finished_at=now,
                updated_at=now,
            )
            with self.store.transaction() as tx:
                tx.update(refused)
            raise self._refuse(item.id, run.actor, run.department, Refusal(reason, outcome.reason))
        return self._hold(run, outcome, now)

    def _hold(self, run: Run, waiting: Waiting, now: datetime) -> Run:
        """The run waits for ``waiting``; audited when that is news."""
        shown = waiting.as_json()
        held = replace(
            run,
            state=RunState(waiting.state),
            waiting=shown,
            status=waiting.status(run.actor),
            approval_id=(
                waiting.approval_id if isinstance(waiting, AwaitingApproval) else run.approval_id
            ),
            decision_id=waiting.decision_id,
            updated_at=now,
        )
        with self.store.transaction() as tx:
            if held.state is not run.state or held.waiting != run.waiting:
                self.runs.record(
                    run_event(f"selfservice.{held.state}", held, shown, waiting.decision_id)
                )
            tx.update(held)
        return held

    # -- following -----------------------------------------------------------------------

    def get(self, run_id: str) -> Run:
        with self.store.transaction(write=False) as tx:
            run = tx.load(run_id)
        if run is None:
            raise UnknownRunError(run_id)
        if run.state is RunState.RUNNING:
            return self.runs.sync(run_id)
        return run

    def recent(self, actor: str | None = None, limit: int = 100) -> list[Run]:
        with self.store.transaction(write=False) as tx:
            return tx.recent(actor, limit)

    def resume(self, run_id: str) -> Run:
        """Go on where the run can: after an approval or a step-up, start its executions;
        while running, let them go on."""
        run = self.get(run_id)
        if run.state is RunState.RUNNING:
            return self.runs.advance(run)
        interrupted = (
            run.state is RunState.ADMITTED and self._clock() - run.updated_at >= ADMISSION_GRACE
        )  # admitted, then the process died before the decision
        if run.state not in (RunState.PENDING_APPROVAL, RunState.AWAITING_STEP_UP) and (
            not interrupted
        ):
            return run
        try:
            prepared = self._prepare(run.actor, run.item, {**run.parameters})
            request = self._run_request(run.actor, prepared, run.ticket)
            return self._decide(run, prepared.item, request, prepared.plans, False)
        except GatewayError as exc:
            if not interrupted:
                raise
            current = self.get(run_id)  # a refusal by policy is recorded already
            if current.state.finished:
                return current
            return self._give_up(run, f"could not be decided after an interruption: {exc}")

    def _give_up(self, run: Run, reason: str) -> Run:
        now = self._clock()
        refused = replace(
            run,
            state=RunState.REFUSED,
            error=reason,
            status=f"refused: {reason}",
            waiting=None,
            finished_at=now,
            updated_at=now,
        )
        with self.store.transaction() as tx:
            tx.update(refused)
            self.runs.record(run_event("selfservice.run_refused", refused, {"reason": reason}))
        return refused

    def tick(self) -> int:
        """Resume every unfinished run; returns how many were looked at."""
        with self.store.transaction(write=False) as tx:
            active = tx.active()
        for run_id in active:
            self.resume(run_id)
        return len(active)

    def cancel(self, run_id: str, by: str) -> Run:
        """Cancel an unfinished run (its requester only), undoing what it did."""
        run = self.get(run_id)
        if by != run.actor:
            raise RunStateError(f"only {run.actor} may cancel run {run_id}")
        if run.state.finished:
            raise RunStateError(f"run {run_id} is already {run.state}")
        if run.state is RunState.RUNNING:
            return self.runs.cancel_executions(run, by)
        approvals = self.gateway.approvals
        if (
            run.approval_id is not None
            and approvals is not None
            and approvals.get(run.approval_id).state is ApprovalState.PENDING
        ):
            approvals.cancel(run.approval_id, by)
        now = self._clock()
        cancelled = replace(
            run,
            state=RunState.CANCELLED,
            status=f"cancelled by {by}",
            waiting=None,
            finished_at=now,
            updated_at=now,
        )
        with self.store.transaction() as tx:
            tx.update(cancelled)
            self.runs.record(run_event("selfservice.cancelled", cancelled, {"by": by}))
        return cancelled

    def close(self) -> None:
        """Close the run store (the executor and gateway belong to whoever built them)."""
        self.store.close()

    # -- analytics -----------------------------------------------------------------------

    def usage(self) -> UsageReport:
        """What was run, refused and saved; running runs are brought up to date first."""
        with self.store.transaction(write=False) as tx:
            active = tx.active()
        with self.store.transaction() as tx:
            for run_id in active:
                self.runs.resync(tx, run_id)
            rows = tx.usage()
        return UsageReport.from_rows(rows)
