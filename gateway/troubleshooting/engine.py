"""The troubleshooting engine: start, answer, undo and resume sessions.

Invariants, in the order the code keeps them:

1. A session is written to the store after every step, in one transaction with the step
   complete (its facts, where it goes next); a call that raises leaves the stored session
   as it was before the call.
2. A session runs on the tree it started with: its snapshot is stored by digest, and a
   session whose tree file changed goes on with its own version and says so (``notice``).
3. Questions whose fact is already known (from the ticket, an earlier answer or a
   diagnostic's ``provides``) are skipped and recorded as such, unless a loop brings the
   session back to a question it passed: then it is asked again.
4. A diagnostic that raises or exceeds its time box takes the node's ``fallback`` branch;
   offline, or when its system is unavailable, the ``offline`` branch (else ``fallback``).
5. An action node never changes anything itself: it starts a workflow through the guarded
   runtime (idempotently, keyed by session, node and visit) and waits, durably, for the
   execution to finish; the session branches on ``succeeded`` or ``failed``.
6. Undo takes back the last answer, unless a workflow ran after it.
7. A session belongs to the technician who started it.  Anyone else who reads or drives
   it (``by``) needs an allow of ``troubleshooting.session.drive`` on
   ``troubleshooting_session:<id>``; refused, they learn nothing and nothing changes.
   The workflows a session reaches run as its technician, whoever pressed the button;
   every answer, undo and workflow start is audited first with the real caller as actor
   and the technician in the payload.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Protocol

from gateway.audit.records import AuditEvent
from gateway.audit.sink import AuditSink
from gateway.clock import Clock, utcnow
from gateway.enforcement import Authorizer, PolicyDeniedError, record_first, require_allowed
from gateway.errors import GatewayError
from gateway.runtime.model import Execution
from gateway.troubleshooting.diagnostics import DiagnosticRunner
from gateway.troubleshooting.errors import (
    AnswerError,
    FactError,
    SessionStateError,
    SessionStoreError,
)
from gateway.troubleshooting.model import (
    ActionNode,
    DecisionNode,
    DiagnosticNode,
    OutcomeNode,
    QuestionNode,
)
from gateway.troubleshooting.navigation import (
    Move,
    Rates,
    action_move,
    decision_move,
    diagnostic_move,
    parse_answer,
    question_move,
    render,
)
from gateway.troubleshooting.session import Session, SessionStatus, Step, StepKind
from gateway.troubleshooting.store import SessionStore
from gateway.troubleshooting.tree import Tree, TreeCatalog, tree_from_snapshot
from gateway.troubleshooting.views import SessionView, prompt_for

__all__ = ["DRIVE_ACTION", "BranchRanking", "TroubleshootingEngine", "WorkflowStarter"]

CHANNEL = "troubleshooting"
DRIVE_ACTION = "troubleshooting.session.drive"
_ACTIONS = {"answered": "answer", "undone": "undo", "action_requested": "act"}


class WorkflowStarter(Protocol):
    """The guarded runtime as an action node uses it (``gateway.runtime.Executor``)."""

    def start(
        self,
        workflow_id: str,
        parameters: Mapping[str, object],
        *,
        actor: str,
        channel: str = ...,
        ticket: str | None = ...,
        idempotency_key: str | None = ...,
    ) -> Execution: ...

    def advance(self, execution_id: str) -> Execution: ...

    def get(self, execution_id: str) -> Execution: ...


class BranchRanking(Protocol):
    """History of a tree: for a node, the success rate of each branch target."""

    def success_rates(self, tree: str, node: str) -> Mapping[str, float]: ...


def _new_id() -> str:
    return uuid.uuid4().hex


class TroubleshootingEngine:
    """Guides sessions through trees; safe to call again after any crash or restart."""

    def __init__(
        self,
        trees: TreeCatalog,
        store: SessionStore,
        runner: DiagnosticRunner,
        *,
        workflows: WorkflowStarter | None = None,
        audit: AuditSink | None = None,
        authorizer: Authorizer | None = None,
        ranking: BranchRanking | None = None,
        clock: Clock = utcnow,
        new_id: Callable[[], str] = _new_id,
        max_steps: int = 1000,
    ) -> None:
        self.trees = trees
        self.store = store
        self.runner = runner
        self.workflows = workflows
        self._audit = audit
        self._authorizer = authorizer
        self._ranking: BranchRanking = ranking if ranking is not None else store
        self._clock = clock
        self._new_id = new_id
        self._max_steps = max_steps
        self._snapshots: dict[str, Tree] = {}

    def close(self) -> None:
        """Close the session store and stop taking checks."""
        self.runner.close()
        self.store.close()

    # -- the calls ---------------------------------------------------------------------

    def start(
        self,
        tree_id: str,
        *,
        technician: str,
        ticket: str | None = None,
        facts: Mapping[str, object] | None = None,
    ) -> SessionView:
        """Start a session on ``tree_id`` with facts the ticket already holds, and run it
        until it needs an answer, waits for a workflow, or ends."""
        tree = self.trees.get(tree_id)
        known = self._input_facts(tree, facts or {})
        now = self._clock()
        session = Session(
            id=self._new_id(),
            tree=tree.id,
            tree_version=tree.version,
            tree_digest=tree.digest,
            technician=technician,
            status=SessionStatus.ACTIVE,
            current=tree.definition.start,
            created_at=now,
            updated_at=now,
            ticket=ticket,
            facts=known,
        )
        event = AuditEvent(
            type="troubleshooting.started",
            actor=technician,
            action="troubleshooting.start",
            resource=f"tree:{tree.id}",
            payload={"session": session.id, "tree_version": tree.version, "ticket": ticket,
                     "facts": sorted(known)},
        )  # fmt: skip
        self.store.save(session, snapshot=tree.snapshot(), before=self._appender(event))
        return self._view(self._run(session, tree, technician), tree, None)

    def answer(self, session_id: str, value: object, *, by: str | None = None) -> SessionView:
        """Answer the question the session waits on and run on, as ``by`` (default: the
        session's technician).  ``AnswerError`` for a value of the wrong type or outside
        the choices; the session is unchanged."""
        session = self.store.load(session_id)
        driver = self._driver(session, by)
        tree, notice = self._tree_for(session)
        if session.status is not SessionStatus.ACTIVE:
            raise SessionStateError(self._not_active(session))
        node = tree.node(session.current)
        if not isinstance(node, QuestionNode):
            raise SessionStateError(
                f"session {session.id} is at {node.type} node {session.current}, not a "
                "question: resume it"
            )
        answer = parse_answer(node, value)
        move = question_move(session.current, node, session.facts, answer, self._rates(tree))
        step = self._step(session.current, StepKind.ANSWERED, move, answer, session.facts)
        event = self._event("answered", driver, session, node=session.current,
                            fact=node.fact)  # fmt: skip
        session = self._record(session, step, move, event)
        return self._view(self._run(session, tree, driver), tree, notice)

    def undo(self, session_id: str, *, by: str | None = None) -> SessionView:
        """Take back the last answer: the session is back at that question, with the facts
        it had then.  Refused while a workflow runs, or when one ran after the answer."""
        session = self.store.load(session_id)
        driver = self._driver(session, by)
        tree, notice = self._tree_for(session)
        if session.status is SessionStatus.WAITING:
            raise SessionStateError(self._not_active(session))
        answered = [i for i, s in enumerate(session.steps) if s.kind is StepKind.ANSWERED]
        if not answered:
            raise SessionStateError(f"session {session.id}: nothing to undo, no answer was given")
        index = answered[-1]
        for later in session.steps[index + 1 :]:
            if later.kind is StepKind.ACTED and (later.value or {}).get("execution"):
                raise SessionStateError(
                    f"session {session.id}: cannot undo the answer to {session.steps[index].node}"
                    f": workflow execution {later.value['execution']} ran after it"
                )
        step = session.steps[index]
        restored = replace(
            session,
            steps=session.steps[:index],
            current=step.node,
            facts=dict(step.facts_before or {}),
            status=SessionStatus.ACTIVE,
            outcome=None,
            execution=None,
            updated_at=self._clock(),
        )
        event = self._event("undone", driver, session, node=step.node)
        self.store.save(restored, before=self._appender(event))
        return self._view(restored, tree, notice)

    def resume(self, session_id: str, *, by: str | None = None) -> SessionView:
        """Pick a session up where it stopped: after a restart, or when the workflow it
        waits for may have finished.  A finished session is shown as it is."""
        session = self.store.load(session_id)
        driver = self._driver(session, by)
        tree, notice = self._tree_for(session)
        return self._view(self._run(session, tree, driver), tree, notice)

    def session_and_tree(self, session_id: str) -> tuple[Session, Tree]:
        """The stored session and the tree version it runs on (for documentation)."""
        session = self.store.load(session_id)
        return session, self._tree_for(session)[0]

    def show(self, session_id: str, *, by: str | None = None) -> SessionView:
        """The session as stored, changing nothing."""
        session = self.store.load(session_id)
        self._driver(session, by)
        tree, notice = self._tree_for(session)
        return self._view(session, tree, notice)

    # -- running -----------------------------------------------------------------------

    def _run(self, session: Session, tree: Tree, driver: str) -> Session:
        rates = self._rates(tree)
        while not session.status.finished:
            if len(session.steps) >= self._max_steps:
                raise SessionStateError(
                    f"session {session.id} passed {self._max_steps} steps; it stops here"
                )
            node_id = session.current
            node = tree.node(node_id)
            if session.status is SessionStatus.WAITING and isinstance(node, ActionNode):
                session = self._act(session, node_id, node, driver)
                if session.status is SessionStatus.WAITING:
                    return session
                continue
            guard = node.exhausted
            if guard is not None and session.visits(node_id) >= (node.max_visits or 0):
                move = Move(guard, "exhausted", session.facts)
                session = self._record(session, self._step(node_id, StepKind.EXHAUSTED, move),
                                       move)  # fmt: skip
            elif isinstance(node, QuestionNode):
                if node.fact not in session.facts or node_id in session.path:
                    return session  # unknown, or asked again by a loop
                value = session.facts[node.fact]
                move = question_move(node_id, node, session.facts, value, rates)
                session = self._record(session, self._step(node_id, StepKind.SKIPPED, move,
                                                           value), move)  # fmt: skip
            elif isinstance(node, DecisionNode):
                move = decision_move(node_id, node, session.facts, rates)
                session = self._record(session, self._step(node_id, StepKind.DECIDED, move),
                                       move)  # fmt: skip
            elif isinstance(node, DiagnosticNode):
                params = render(node_id, node.with_, session.facts)
                result = self.runner.run(node.check, params, actor=session.technician,
                                         timeout=node.timeout_seconds)  # fmt: skip
                move = diagnostic_move(node_id, node, session.facts, result, rates)
                step = self._step(node_id, StepKind.CHECKED, move, result.as_fact())
                session = self._record(session, step, move)
            elif isinstance(node, ActionNode):
                session = self._act(session, node_id, node, driver)
                if session.status is SessionStatus.WAITING:
                    return session
            else:
                session = self._finish(session, node_id, node)
        return session

    def _act(self, session: Session, node_id: str, node: ActionNode, driver: str) -> Session:
        execution: Execution | None = None
        outcome: dict[str, Any]
        if self.workflows is None:
            outcome = {"state": "not_started", "execution": None,
                       "error": "no automation runtime is configured"}  # fmt: skip
        elif session.execution is None:
            params = render(node_id, node.with_, session.facts)
            key = f"troubleshooting:{session.id}:{node_id}:{session.visits(node_id)}"
            record_first(self._audit, self._event(
                "action_requested", driver, session, node=node_id,
                workflow=node.workflow, idempotency_key=key,
            ))  # fmt: skip
            try:
                started = self.workflows.start(node.workflow, params, actor=session.technician,
                                               channel=CHANNEL, ticket=session.ticket,
                                               idempotency_key=key)  # fmt: skip
            except GatewayError as exc:
                outcome = {"state": "not_started", "execution": None, "error": str(exc)}
            else:
                session = replace(session, execution=started.id, status=SessionStatus.WAITING,
                                  updated_at=self._clock())  # fmt: skip
                self.store.save(session)
                execution = self.workflows.advance(started.id)
        else:
            execution = self.workflows.get(session.execution)
            if not execution.state.finished:
                execution = self.workflows.advance(session.execution)
        if execution is not None:
            if not execution.state.finished:
                return session
            outcome = {"state": str(execution.state), "execution": execution.id,
                       "error": execution.error}  # fmt: skip
        move = action_move(node, session.facts, outcome)
        waiting_done = replace(session, execution=None, status=SessionStatus.ACTIVE)
        return self._record(waiting_done, self._step(node_id, StepKind.ACTED, move, outcome), move)

    def _finish(self, session: Session, node_id: str, node: OutcomeNode) -> Session:
        summary = render(node_id, node.summary, session.facts)
        outcome = {"result": node.result, "node": node_id, "summary": str(summary),
                   "escalate_to": node.escalate_to}  # fmt: skip
        status = SessionStatus.RESOLVED if node.result == "resolved" else SessionStatus.ESCALATED
        step = Step(node_id, StepKind.FINISHED, None, "outcome", self._clock())
        done = replace(session, steps=(*session.steps, step), status=status, outcome=outcome,
                       updated_at=self._clock())  # fmt: skip
        event = AuditEvent(
            type="troubleshooting.finished",
            actor=session.technician,
            action="troubleshooting.finish",
            resource=f"tree:{session.tree}",
            payload={"session": session.id, "result": node.result, "node": node_id,
                     "steps": len(done.steps), "ticket": session.ticket},
        )  # fmt: skip
        self.store.save(done, before=self._appender(event))
        return done

    # -- helpers -----------------------------------------------------------------------

    def _step(
        self,
        node_id: str,
        kind: StepKind,
        move: Move,
        value: Any = None,
        facts_before: Mapping[str, Any] | None = None,
    ) -> Step:
        before = None if facts_before is None else dict(facts_before)
        return Step(node_id, kind, move.goto, move.edge, self._clock(), value, before)

    def _record(
        self, session: Session, step: Step, move: Move, event: AuditEvent | None = None
    ) -> Session:
        moved = replace(session, steps=(*session.steps, step), current=move.goto,
                        facts=move.facts, updated_at=self._clock())  # fmt: skip
        self.store.save(moved, before=None if event is None else self._appender(event))
        return moved

    def _driver(self, session: Session, by: str | None) -> str:
        """Who drives ``session``: its technician, or ``by`` once policy allows it."""
        if by is None or by == session.technician:
            return session.technician
        resource = f"troubleshooting_session:{session.id}"
        if self._authorizer is None:
            why = ("no policy decision point is configured",)
            raise PolicyDeniedError(DRIVE_ACTION, resource, why, None)
        require_allowed(self._authorizer, actor=by, action=DRIVE_ACTION, resource=resource)
        return by

    @staticmethod
    def _event(kind: str, driver: str, session: Session, **details: str) -> AuditEvent:
        """``troubleshooting.KIND``: what ``driver`` did to ``session``, with the technician
        it belongs to in the payload (never an answer's value: only the node and fact)."""
        payload = {"session": session.id, **details, "technician": session.technician,
                   "ticket": session.ticket}  # fmt: skip
        return AuditEvent(type=f"troubleshooting.{kind}", actor=driver,
                          action=f"troubleshooting.{_ACTIONS[kind]}",
                          resource=f"tree:{session.tree}", payload=payload)  # fmt: skip

    def _appender(self, event: AuditEvent) -> Callable[[], object] | None:
        audit = self._audit
        if audit is None:
            return None
        return lambda: audit(event)

    def _rates(self, tree: Tree) -> Rates:
        ranking = self._ranking
        return lambda node_id: ranking.success_rates(tree.id, node_id)

    def _tree_for(self, session: Session) -> tuple[Tree, str | None]:
        """The tree the session started with, and a notice when the file changed."""
        current = self._current_tree(session.tree)
        if current is not None and current.digest == session.tree_digest:
            return current, None
        tree = self._snapshots.get(session.tree_digest)
        if tree is None:
            text = self.store.snapshot(session.tree_digest)
            if text is None:
                raise SessionStoreError(
                    f"session {session.id}: the tree it started with "
                    f"({session.tree_digest[:19]}...) is not in the store"
                )
            tree = tree_from_snapshot(text, f"session {session.id}")
            self._snapshots[session.tree_digest] = tree
        if current is None:
            notice = f"tree {session.tree} is no longer in the folder"
        else:
            notice = f"tree {session.tree} changed since this session started (the file is " \
                     f"now version {current.version}, {current.digest[:19]}...)"  # fmt: skip
        notice += (
            f"; the session goes on with version {session.tree_version} "
            f"({session.tree_digest[:19]}...), as it started; start a new session for the "
            "changed tree"
        )
        return tree, notice

    def _current_tree(self, tree_id: str) -> Tree | None:
        try:
            return self.trees.get(tree_id)
        except GatewayError:
            return None

    def _view(self, session: Session, tree: Tree, notice: str | None) -> SessionView:
        rates = None
        if session.status is SessionStatus.ACTIVE:
            rates = self._ranking.success_rates(tree.id, session.current)
        return SessionView(session, tree.definition.title, prompt_for(session, tree, rates),
                           notice)  # fmt: skip

    def _input_facts(self, tree: Tree, facts: Mapping[str, object]) -> dict[str, Any]:
        known: dict[str, Any] = {}
        for name, raw in facts.items():
            spec = tree.definition.inputs.get(name)
            if spec is None:
                listed = ", ".join(sorted(tree.definition.inputs)) or "none"
                raise FactError(f"tree {tree.id} takes no fact {name!r} (inputs: {listed})")
            question = QuestionNode.model_construct(
                type="question", text=name, answer=spec.type, choices=list(spec.choices),
                fact=name,
            )  # fmt: skip
            try:
                known[name] = parse_answer(question, raw)
            except AnswerError as exc:
                raise FactError(f"fact {exc}") from exc
        return known

    @staticmethod
    def _not_active(session: Session) -> str:
        if session.status is SessionStatus.WAITING:
            return (
                f"session {session.id} waits for workflow execution {session.execution}: "
                "resume it once the execution can go on"
            )
        return f"session {session.id} is {session.status}; undo the last answer to change it"
