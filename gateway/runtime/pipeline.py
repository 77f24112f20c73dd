"""The step pipeline: one step of an execution along the one guarded path.

    request -> decision -> obligations -> audit -> action -> audit

Each step of a workflow goes through these stages, in order; a stage hands its product
to the next, or a halt (``outcomes``) that ends the step for now:

1. **render**: the condition (``when``) is evaluated, and a false one skips the step
   (audited); a schedule step keeps its timer (``timers``); the parameters are rendered
   from the workflow's parameters and the earlier steps' outputs.
2. **validate**: the parameters are checked against the action's declaration, secrets
   set apart.
3. **decide** (``deciding``): a privileged step is decided with its own request through
   the step guard: refused, waiting (approval, step-up) or allowed; a step ahead of the
   first privileged step runs only when its actor is allowed that privileged step.
   Waiting is durable: the execution's state says what for (``waiting``), and the
   executor picks it up again when it is met, after any number of restarts.
4. **claim + audit first**: the step is claimed (``pending -> started``, one process
   wins) and ``action.started`` is appended to the audit log in the same store
   transaction: if the append fails, nothing is claimed and the action does not run.
5. **call**: the action runs with its timeout (``calls``), only once the claim's commit
   is acknowledged: a claim whose reply was lost leaves a step claimed and never called,
   which this process's recovery knows (``running``) and has called once.
6. **record**: its outcome is stored and audited together (``journal``); secret outputs
   are sealed for the actor, never stored in clear or audited.  When the store cannot
   be written (the database is down), the outcome is kept in this process and stored by
   the next ``recover`` once it is back, its audit record not appended twice.

So no privileged action runs without an allow decision whose obligations are met and an
audit record written before it; no audit, no action.  A halt goes to the collaborator
that owns it: a failure to the ``compensator`` (the step fails on record, then the steps
before it are undone, each undo itself decided and audited), a retry to the ``requeue``
(a system that is down: back to the queue with exponential backoff), a waiting to the
``journal`` (the execution waits, audited).
"""

from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Any

from pydantic import SecretStr

from gateway.clock import Clock
from gateway.errors import ActionFailedError, AuditError, TargetUnavailableError
from gateway.expressions import ExpressionError, parse_expression, render_value
from gateway.runtime.actions import ActionCall, ActionOutput, ActionRegistry, ActionSpec
from gateway.runtime.calls import ActionRunner, failure_reason
from gateway.runtime.compensator import Compensator
from gateway.runtime.deciding import StepDecider
from gateway.runtime.errors import ExecutionStoreError, ParameterError, UnknownWorkflowError
from gateway.runtime.journal import Journal
from gateway.runtime.model import Execution, ExecutionState, StepRecord, StepState
from gateway.runtime.outcomes import Cleared, Done, Failure, Halt, Retry
from gateway.runtime.parameters import Values
from gateway.runtime.requeue import Requeue
from gateway.runtime.running import Outcome, RunningSteps
from gateway.runtime.sealing import OutputSealer
from gateway.runtime.store import Transaction
from gateway.runtime.timers import Timers
from gateway.runtime.waiting import AwaitingApproval, Waiting
from gateway.runtime.workflows import StepDefinition, Workflow

__all__ = ["StepPipeline", "step_scope"]

log = logging.getLogger("gateway.runtime.executor")


def step_scope(execution: Execution) -> dict[str, Any]:
    """What a step's expressions see: parameters, earlier steps, the execution."""
    return {
        "params": execution.parameters,
        "steps": {s.step_id: {"state": str(s.state), "output": s.output} for s in execution.steps},
        "execution": {
            "id": execution.id,
            "actor": execution.actor,
            "channel": execution.channel,
            "ticket": execution.ticket,
        },
    }


class StepPipeline:
    def __init__(
        self,
        journal: Journal,
        decider: StepDecider,
        runner: ActionRunner,
        compensator: Compensator,
        requeue: Requeue,
        timers: Timers,
        actions: ActionRegistry,
        *,
        sealer: OutputSealer | None,
        clock: Clock,
        owner: str,
    ) -> None:
        self._journal = journal
        self._decider = decider
        self._runner = runner
        self._compensator = compensator
        self._requeue = requeue
        self._timers = timers
        self._actions = actions
        self._sealer = sealer
        self._clock = clock
        self._owner = owner
        self.steps = RunningSteps()

    def run(self, execution: Execution, workflow: Workflow, record: StepRecord) -> bool:
        """Take one step through the stages; True when the execution may go on at once."""
        step = workflow.definition.steps[record.index]
        scope = step_scope(execution)
        try:
            rendered = self.render(execution, step, record, scope)
            if isinstance(rendered, Done):
                return True
            action, values = rendered
            plain, secrets = self.validate(action, values)
        except (ExpressionError, ParameterError, UnknownWorkflowError) as exc:
            self._compensator.fail(execution, record, f"step {step.id}: {exc}")
            return False
        cleared = self._decider.decide(execution, workflow, record, action, plain, scope)
        if not isinstance(cleared, Cleared):
            return self._halt(execution, record, action, cleared)
        call = ActionCall(
            execution.id, record.step_id, execution.actor, plain, secrets, record.attempts + 1
        )
        key = (execution.id, record.step_id)
        self.steps.enter(key)  # before the claim: recovery never takes a step running here
        try:
            claimed = self.claim(execution, record, action, call, cleared)
            if isinstance(claimed, Retry):
                return self._halt(execution, record, action, claimed)
            if not claimed:
                return False
            self.steps.calling(key)  # only now: a claim whose reply was lost never runs
            output = self.call(record, action, call, cleared)
            if not isinstance(output, ActionOutput):
                return self._halt(execution, record, action, output)
            return self.store(Outcome(execution, record, action, output, cleared))
        finally:
            self.steps.leave(key)

    def store(self, outcome: Outcome) -> bool:
        """Store (and audit) what an action did; when the store cannot be written, the
        outcome is kept in this process (``steps``) and stored again by ``recover``."""
        appended = False
        try:
            with self._journal.store.transaction() as tx:
                if outcome.kept and not tx.still_started_by(
                    outcome.execution.id, outcome.record.step_id, self._owner
                ):
                    log.error(
                        "execution %s: step %s was taken over; its outcome is dropped",
                        outcome.execution.id,
                        outcome.record.step_id,
                    )
                    self.steps.forget(outcome.key)
                    return False
                appended = self._record(tx, outcome)
        except ExecutionStoreError as exc:
            log.error(
                "execution %s: the outcome of step %s is kept until it can be stored: %s",
                outcome.execution.id,
                outcome.record.step_id,
                exc,
            )
            self.steps.keep(replace(outcome, on_record=outcome.on_record or appended, kept=True))
            return False
        self.steps.forget(outcome.key)
        return True

    def render(
        self, execution: Execution, step: StepDefinition, record: StepRecord, scope: dict[str, Any]
    ) -> tuple[ActionSpec, Any] | Done:
        """The action and its rendered parameters; ``Done`` for a step skipped by its
        condition or a schedule step (its timer kept)."""
        if step.when is not None and not parse_expression(step.when).evaluate_bool(scope):
            with self._journal.store.transaction() as tx:
                tx.update_step(
                    execution.id, record.step_id, state=StepState.SKIPPED, finished_at=self._clock()
                )
                self._journal.record(
                    "step.skipped",
                    execution,
                    {"step": record.step_id, "why": "its condition is false"},
                )
            return Done()
        if step.schedule is not None:
            self._timers.schedule(execution, step, record, scope)
            return Done()
        action = self._actions.get(str(step.action))
        if action is None:
            raise ParameterError(f"step {step.id}", {"action": f"{step.action} is not registered"})
        return action, render_value(step.with_, scope)

    def validate(self, action: ActionSpec, values: Any) -> tuple[Values, dict[str, SecretStr]]:
        """The parameters as the action declares them, secrets apart (raises
        ``ParameterError`` naming each one that is wrong)."""
        return action.parameter_set.validate(values)

    def claim(
        self,
        execution: Execution,
        record: StepRecord,
        action: ActionSpec,
        call: ActionCall,
        cleared: Cleared,
    ) -> bool | Retry:
        """Claim the step and append ``action.started`` in one transaction: True when
        claimed, False when another process has it, ``Retry`` when the log is down."""
        now = self._clock()
        payload = {
            "step": record.step_id,
            "action": action.name,
            "attempt": call.attempt,
            "parameters": call.parameters,
            "decision_id": cleared.decision_id,
        }
        try:
            with self._journal.store.transaction() as tx:
                if not tx.claim_step(
                    execution.id,
                    record.step_id,
                    now,
                    self._owner,
                    decision_id=cleared.decision_id,
                    digest=cleared.digest,
                    parameters=call.parameters,
                ):
                    return False
                tx.set_state(execution.id, ExecutionState.RUNNING, now)
                self._journal.record(
                    "action.started",
                    execution,
                    payload,
                    decision_id=cleared.decision_id,
                    action=action.permission or action.name,
                )
        except AuditError as exc:
            return Retry("audit log", f"not run: {exc}", audit_down=True)
        return True

    def call(
        self, record: StepRecord, action: ActionSpec, call: ActionCall, cleared: Cleared
    ) -> ActionOutput | Failure | Retry:
        try:
            return self._runner.call(action, call)
        except TargetUnavailableError as exc:
            return Retry(exc.system, str(exc), started=True)
        except (ActionFailedError, FutureTimeout, Exception) as exc:
            reason = failure_reason(action, exc)
            if isinstance(exc, FutureTimeout) and action.idempotent:
                return Retry(action.system, reason, started=True)
            return Failure(
                f"step {record.step_id} failed: {reason}", cleared.decision_id, started=True
            )

    def _record(self, tx: Transaction, outcome: Outcome) -> bool:
        """Store the outcome and audit it in ``tx`` (unless it is on record already);
        True when its record was appended now."""
        now = self._clock()
        execution, record, output = outcome.execution, outcome.record, outcome.output
        sealed = tuple(sorted(output.secrets)) if self._sealer is not None else ()
        for name, value in output.secrets.items():
            if self._sealer is not None:
                self._sealer.seal(tx, execution.id, name, value, now)
        tx.update_step(
            execution.id,
            record.step_id,
            state=StepState.SUCCEEDED,
            output=output.values,
            sealed=sealed,
            finished_at=now,
            error=None,
            next_attempt_at=None,
        )
        tx.set_state(execution.id, ExecutionState.RUNNING, now)
        if outcome.on_record:
            return False
        kept = self._journal.record_after(
            tx,
            "action.succeeded",
            execution,
            {
                "step": record.step_id,
                "action": outcome.action.name,
                "changed": output.changed,
                "detail": output.detail,
                "output": output.values,
                "secret_outputs": list(sealed),
            },
            decision_id=outcome.cleared.decision_id,
            action=outcome.action.permission or outcome.action.name,
        )
        if kept is not None:
            self._journal.wait_for_audit(tx, execution, record.step_id, kept, now)
        return kept is None

    def _halt(
        self, execution: Execution, record: StepRecord, action: ActionSpec, halt: Halt
    ) -> bool:
        """Hand ``halt`` to its owner; False: the execution goes no further now."""
        if isinstance(halt, Failure):
            self._compensator.fail(
                execution, record, halt.reason, decision_id=halt.decision_id, started=halt.started
            )
        elif isinstance(halt, Retry):
            self._requeue.defer(execution, record, action, halt)
        else:
            self._hold(execution, record, halt)
        return False

    def _hold(self, execution: Execution, record: StepRecord, waiting: Waiting) -> None:
        """The execution waits for ``waiting``, kept on the step it is bound to."""
        changes: dict[str, Any] = {"decision_id": waiting.decision_id, "digest": waiting.digest}
        if isinstance(waiting, AwaitingApproval):
            changes["approval_id"] = waiting.approval_id
        with self._journal.store.transaction() as tx:
            tx.update_step(execution.id, record.step_id, **changes)
            state = ExecutionState(waiting.state)
            self._journal.wait(tx, execution, state, waiting.as_json(), self._clock())
