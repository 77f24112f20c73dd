"""What a ticket is told for each state of its automation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.runtime.model import Execution, ExecutionState
from gateway.tickets.progress import progress_writebacks
from gateway.tickets.writeback import WriteBackKind

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


NOW = datetime(2024, 5, 1, tzinfo=UTC)


def _execution(state: ExecutionState, **fields: object) -> Execution:
    return Execution(
        id="e1", workflow="password-reset", workflow_version=1, workflow_digest="sha256:x",
        actor="elena", parameters={"user": "tom"}, channel="ticket", state=state,
        created_at=NOW, updated_at=NOW, **fields,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("execution", "expected"),
    [
        (_execution(ExecutionState.PENDING_APPROVAL,
                    waiting={"kind": "approval", "approval_id": "a1", "digest": "sha256:d"}),
         [(WriteBackKind.WORK_NOTE,
           "Waiting for approval a1 (request sha256:d); the approvers are notified.")]),
        (_execution(ExecutionState.WAITING_FOR_TARGET, waiting={
            "kind": "target", "step": "reset", "system": "directory", "attempts": 1,
            "next_at": "2024-05-01T00:00:02Z"}),
         [(WriteBackKind.WORK_NOTE, "Queued, nothing lost: directory is unavailable; step "
           "reset is queued, attempt 1 failed, next try at 2024-05-01T00:00:02Z.")]),
        (_execution(ExecutionState.COMPENSATED, error="step reset refused: no"),
         [(WriteBackKind.WORK_NOTE, "The automation (password-reset, execution e1) did not "
           "finish: compensated: step reset refused: no. Left for a person.")]),
        (_execution(ExecutionState.RUNNING), []),
    ],
)  # fmt: skip
def test_each_state_is_written_back_once_in_words(
    execution: Execution, expected: list[tuple[WriteBackKind, str]]
) -> None:
    assert progress_writebacks(execution, None) == expected


def test_a_done_note_that_cannot_be_filled_in_falls_back_to_a_plain_one() -> None:
    done = _execution(ExecutionState.SUCCEEDED)

    assert progress_writebacks(done, "{{ params.colour }}")[0] == (
        WriteBackKind.COMMENT, "Done: password-reset finished for this ticket."
    )  # fmt: skip
