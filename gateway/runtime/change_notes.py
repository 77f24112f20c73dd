"""The summary of an execution bound to a change request, put on the change as a note.

When such an execution finishes, the note is stored in the execution store in the same
transaction that records the end (``queue_note``), so it is never lost between the end and
the change system taking it.  ``ChangeNotes.flush`` delivers what is due, oldest first and
never overtaking an earlier note to the same change; a change system that is down keeps
the note for later, with exponential backoff (5 s doubling, at most 15 minutes).  Each
delivered note is audited as ``change.note_written``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from gateway.audit.records import AuditEvent, format_time
from gateway.audit.sink import AuditSink
from gateway.changes.errors import ChangeSourceError
from gateway.changes.requests import ChangeRequestSource
from gateway.clock import Clock
from gateway.runtime.model import Execution, ExecutionState
from gateway.runtime.store import ExecutionStore, Transaction

__all__ = ["ChangeNotes", "queue_note", "summary"]

log = logging.getLogger(__name__)

BACKOFF_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 900.0

# The table ``change_notes`` is created with the store's schema (``store.SCHEMA``).


def summary(execution: Execution, state: ExecutionState, reason: str | None) -> str:
    """What the change is told: which execution, by whom, how it ended."""
    text = (
        f"IT support gateway: execution {execution.id} of workflow {execution.workflow}, "
        f"started by {execution.actor}, {state}"
    )
    return f"{text}: {reason}" if reason else f"{text}."


def queue_note(tx: Transaction, execution: Execution, text: str, now: datetime) -> None:
    if execution.change_request is None:
        return
    tx.db.execute(
        "INSERT INTO change_notes (execution_id, number, text, attempts, next_at)"
        " VALUES (?, ?, ?, 0, ?)",
        (execution.id, execution.change_request, text, format_time(now)),
    )


class ChangeNotes:
    def __init__(
        self,
        store: ExecutionStore,
        source: ChangeRequestSource | None,
        audit: AuditSink | None,
        clock: Clock,
    ) -> None:
        self._store = store
        self._source = source
        self._audit = audit
        self._clock = clock

    def flush(self, limit: int = 100) -> int:
        """Deliver the notes that are due; how many were delivered."""
        if self._source is None:
            return 0
        now = self._clock()
        with self._store.transaction(write=False) as tx:
            rows = tx.db.execute(
                "SELECT seq, execution_id, number, text, attempts, next_at FROM change_notes"
                " ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        blocked: set[str] = set()
        delivered = 0
        for seq, execution_id, number, text, attempts, next_at in rows:
            if number in blocked or datetime.fromisoformat(next_at) > now:
                blocked.add(number)
                continue
            try:
                self._source.add_note(number, text)
            except ChangeSourceError as exc:
                blocked.add(number)
                wait = min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2.0 ** min(attempts, 20))
                with self._store.transaction() as tx:
                    tx.db.execute(
                        "UPDATE change_notes SET attempts = ?, next_at = ?, error = ?"
                        " WHERE seq = ?",
                        (attempts + 1, format_time(now + timedelta(seconds=wait)), str(exc), seq),
                    )
                log.info("note for change %s waits: %s", number, exc)
                continue
            with self._store.transaction() as tx:
                tx.db.execute("DELETE FROM change_notes WHERE seq = ?", (seq,))
            delivered += 1
            if self._audit is not None:
                self._audit(
                    AuditEvent(
                        type="change.note_written",
                        resource=f"change_request:{number}",
                        payload={"execution": execution_id, "change_request": number,
                                 "text": text},
                    )
                )  # fmt: skip
        return delivered
