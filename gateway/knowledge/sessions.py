"""A guided troubleshooting session as documentation needs it (``SessionTrail``).

The path keeps every node the session passed with its answer; checks become diagnostics
with their result; action nodes name the executions they started (whose records and audit
trail ``collect_session`` adds); the outcome is the session's own.
"""

from __future__ import annotations

from typing import Any

from gateway.audit.records import format_time
from gateway.knowledge.session import SessionDiagnostic, SessionNode, SessionOutcome, SessionTrail
from gateway.troubleshooting.model import DiagnosticNode, OutcomeNode, QuestionNode
from gateway.troubleshooting.session import Session, Step, StepKind
from gateway.troubleshooting.tree import Tree

__all__ = ["session_trail"]

# A check's status -> how a summary reports it.
_RESULTS = {"ok": "passed", "failed": "failed", "error": "error", "timeout": "timeout"}
_KINDS = {
    StepKind.ANSWERED: "question",
    StepKind.SKIPPED: "question",
    StepKind.DECIDED: "decision",
    StepKind.EXHAUSTED: "decision",
    StepKind.CHECKED: "diagnostic",
    StepKind.ACTED: "action",
    StepKind.FINISHED: "outcome",
}


def _text(tree: Tree, node_id: str) -> str:
    node = tree.definition.nodes.get(node_id)
    if isinstance(node, QuestionNode):
        return node.text
    if isinstance(node, OutcomeNode):
        return node.summary
    return getattr(node, "description", "") or ""


def _diagnostic(tree: Tree, step: Step) -> SessionDiagnostic:
    value: dict[str, Any] = step.value  # a check's result, as the session keeps it
    node = tree.definition.nodes.get(step.node)
    name = str(node.check) if isinstance(node, DiagnosticNode) else step.node
    return SessionDiagnostic(
        name=name[:128],
        target=step.node[:256],
        result=_RESULTS.get(str(value.get("status")), "skipped"),
        detail=str(value.get("detail", ""))[:2000],
        at=format_time(step.at),
    )


def session_trail(session: Session, tree: Tree) -> SessionTrail:
    """``session`` (run on ``tree``, the version it started with) as a trail to document."""
    path: list[SessionNode] = []
    diagnostics: list[SessionDiagnostic] = []
    executions: list[str] = []
    for step in session.steps:
        execution = step.value.get("execution") if step.kind is StepKind.ACTED else None
        if isinstance(execution, str):  # None when the workflow could not be started
            executions.append(execution)
        if step.kind is StepKind.CHECKED:
            diagnostics.append(_diagnostic(tree, step))
        answer = step.value if step.kind in (StepKind.ANSWERED, StepKind.SKIPPED) else None
        path.append(
            SessionNode(
                node=step.node,
                kind=_KINDS[step.kind],
                text=_text(tree, step.node)[:2000],
                answer=answer,
                at=format_time(step.at),
                execution=execution,
            )
        )
    outcome = None
    if session.outcome is not None:
        outcome = SessionOutcome(
            result="resolved" if session.outcome.get("result") == "resolved" else "escalated",
            summary=str(session.outcome.get("summary") or "")[:2000],
            node=session.outcome.get("node"),
            escalate_to=session.outcome.get("escalate_to"),
        )
    return SessionTrail(
        id=session.id,
        tree=session.tree,
        title=tree.definition.title,
        technician=session.technician,
        ticket=session.ticket,
        path=path,
        diagnostics=diagnostics,
        executions=executions,
        outcome=outcome,
        started_at=format_time(session.created_at),
        finished_at=format_time(session.updated_at) if session.status.finished else None,
    )
