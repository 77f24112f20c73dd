"""Scripted stand-ins for the systems around the engine: the outside checks a diagnostic
runs and the runtime's executions, each answering from a script."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.errors import TargetUnavailableError
from gateway.runtime.errors import ParameterError
from gateway.runtime.model import Execution, ExecutionState
from gateway.troubleshooting.diagnostics import CheckReport, DiagnosticRunner
from gateway.troubleshooting.engine import TroubleshootingEngine
from gateway.troubleshooting.paths import SAMPLE_RESULTS
from gateway.troubleshooting.store import SessionStore
from gateway.troubleshooting.tree import TreeCatalog

REPO = Path(__file__).resolve().parents[2]
SHIPPED_TREES = REPO / "automations" / "troubleshooting"
SHIPPED_WORKFLOWS = REPO / "automations" / "workflows"
NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


class ScriptedChecks:
    """Every check kind answers from one queue of (status, data) in the order asked;
    ``status`` ok or failed is a report, error raises, unavailable is a system down."""

    def __init__(self, results: Iterable[tuple[str, Mapping[str, Any]]] = ()) -> None:
        self.queue: deque[tuple[str, Mapping[str, Any]]] = deque(results)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def check(self, kind: str) -> Any:
        def run(params: Mapping[str, Any], timeout: float) -> CheckReport:
            self.calls.append((kind, dict(params)))
            status, data = self.queue.popleft() if self.queue else ("ok", SAMPLE_RESULTS[kind][0])
            if status == "error":
                raise RuntimeError("the check broke")
            if status == "unavailable":
                raise TargetUnavailableError(kind, "no route")
            return CheckReport(status == "ok", f"scripted {status}", dict(data))

        return run

    def all(self) -> dict[str, Any]:
        return {kind: self.check(kind) for kind in SAMPLE_RESULTS}


class ScriptedRuntime:
    """Executions that end (or wait) as scripted, in the order workflows are started."""

    def __init__(self, states: Iterable[str] = ()) -> None:
        self.states: deque[str] = deque(states)
        self.executions: dict[str, Execution] = {}
        self.started: list[tuple[str, dict[str, object], str | None]] = []

    def start(
        self,
        workflow_id: str,
        parameters: Mapping[str, object],
        *,
        actor: str,
        channel: str = "api",
        ticket: str | None = None,
        idempotency_key: str | None = None,
    ) -> Execution:
        if any(" " in str(value) for value in parameters.values()):
            raise ParameterError(f"workflow {workflow_id}", {"user": "must not hold spaces"})
        self.started.append((workflow_id, dict(parameters), idempotency_key))
        state = self.states.popleft() if self.states else "succeeded"
        execution = Execution(
            id=f"exec-{len(self.started)}",
            workflow=workflow_id,
            workflow_version=1,
            workflow_digest="sha256:0",
            actor=actor,
            parameters=dict(parameters),
            channel=channel,
            state=ExecutionState.QUEUED,
            created_at=NOW,
            updated_at=NOW,
            ticket=ticket,
            waiting={"then": state},
        )
        self.executions[execution.id] = execution
        return execution

    def advance(self, execution_id: str) -> Execution:
        execution = self.executions[execution_id]
        then = str((execution.waiting or {})["then"])
        state = ExecutionState(then) if then != "waiting" else ExecutionState.PENDING_APPROVAL
        moved = replace(execution, state=state)
        self.executions[execution_id] = moved
        return moved

    def get(self, execution_id: str) -> Execution:
        return self.executions[execution_id]

    def finish(self, execution_id: str, state: str) -> None:
        """The approval came: the next advance finishes the execution."""
        execution = self.executions[execution_id]
        self.executions[execution_id] = replace(execution, waiting={"then": state})


class Prefer:
    """History that prefers the given branch target at each node."""

    def __init__(self, preferred: Mapping[str, str]) -> None:
        self.preferred = dict(preferred)

    def success_rates(self, tree: str, node: str) -> dict[str, float]:
        goto = self.preferred.get(node)
        return {} if goto is None else {goto: 1.0}


def make_engine(
    folder: Path,
    trees: TreeCatalog,
    *,
    checks: ScriptedChecks | None = None,
    runtime: ScriptedRuntime | None = None,
    offline: bool = False,
    timeout: float = 5.0,
    **options: Any,
) -> TroubleshootingEngine:
    runner = DiagnosticRunner(
        (checks or ScriptedChecks()).all(), timeout_seconds=timeout, offline=offline
    )
    return TroubleshootingEngine(
        trees, SessionStore(folder / "sessions.db"), runner, workflows=runtime, **options
    )
