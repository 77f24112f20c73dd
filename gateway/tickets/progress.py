"""What a ticket is told as its automation moves: one write-back per new state.

=====================  ==============================================================
state                  written back
=====================  ==============================================================
awaiting_step_up       comment: the requester's next step (step up, bound to the digest)
pending_approval       work note: which approval it waits for
waiting_for_target     work note: which system is down and when it is tried again
succeeded              comment: the route's ``done_note``; then resolved, with notes
failed, compensated,   work note: why it did not finish; the ticket stays with people
cancelled
=====================  ==============================================================
"""

from __future__ import annotations

from gateway.expressions import ExpressionError, parse_template
from gateway.runtime.model import Execution, ExecutionState
from gateway.tickets.writeback import WriteBackKind

__all__ = ["progress_writebacks"]

_DEFAULT_DONE = "Done: {{ execution.workflow }} finished for this ticket."


def _done_text(execution: Execution, done_note: str | None) -> str:
    scope = {
        "execution": {
            "id": execution.id,
            "workflow": execution.workflow,
            "actor": execution.actor,
            "ticket": execution.ticket,
        },
        "params": dict(execution.parameters),
    }
    try:
        text = parse_template(done_note or _DEFAULT_DONE).render(scope)
    except ExpressionError:
        text = parse_template(_DEFAULT_DONE).render(scope)
    return str(text)


def progress_writebacks(
    execution: Execution, done_note: str | None
) -> list[tuple[WriteBackKind, str]]:
    """The write-backs for the execution's current state (none for queued, running)."""
    state = execution.state
    waiting = execution.waiting or {}
    if state is ExecutionState.AWAITING_STEP_UP:
        return [
            (
                WriteBackKind.COMMENT,
                f"Next step for {execution.actor}: verify that it is you. Step up with your "
                f"authenticator app for this exact request (bound to {waiting.get('digest')}), "
                f'in the self-service portal or with "gateway stepup verify --user '
                f'{execution.actor} --bound-to {waiting.get("digest")}". The gateway goes on '
                "as soon as you have.",
            )
        ]
    if state is ExecutionState.PENDING_APPROVAL:
        return [
            (
                WriteBackKind.WORK_NOTE,
                f"Waiting for approval {waiting.get('approval_id')} "
                f"(request {waiting.get('digest')}); the approvers are notified.",
            )
        ]
    if state is ExecutionState.WAITING_FOR_TARGET:
        return [(WriteBackKind.WORK_NOTE, f"Queued, nothing lost: {execution.status}.")]
    if state is ExecutionState.SUCCEEDED:
        return [
            (WriteBackKind.COMMENT, _done_text(execution, done_note)),
            (
                WriteBackKind.RESOLVE,
                f"Resolved by the IT support gateway: workflow {execution.workflow}, execution "
                f"{execution.id}. Every step and decision is in the audit log.",
            ),
        ]
    if state.finished:
        return [
            (
                WriteBackKind.WORK_NOTE,
                f"The automation ({execution.workflow}, execution {execution.id}) did not "
                f"finish: {execution.status}. Left for a person.",
            )
        ]
    return []
