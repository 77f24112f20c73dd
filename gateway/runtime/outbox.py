"""Audit records of outcomes that the audit log refused, kept to be written later.

An outcome (an action that ran, a step that failed, an undo, the end of an execution)
has already happened when its record is appended.  When the append fails, forgetting the
outcome would leave the execution ``running`` and its target held until a restart; so
the outcome is stored with its record in this table, in the same store transaction, and
the record is written as soon as the log takes it again (the next advance or worker
tick), in the order they were kept.  Until then the execution does not go on: nothing
new is started or audited for it before the records of what it already did.
"""

from __future__ import annotations

from gateway.audit.records import AuditEvent
from gateway.runtime.store import Transaction

__all__ = ["held", "held_executions", "hold", "release"]

# The table ``unrecorded`` is created with the store's schema (``store.SCHEMA``).


def hold(tx: Transaction, execution_id: str, event: AuditEvent) -> None:
    tx.db.execute(
        "INSERT INTO unrecorded (execution_id, event) VALUES (?, ?)",
        (execution_id, event.model_dump_json()),
    )


def held(tx: Transaction, execution_id: str) -> list[tuple[int, AuditEvent]]:
    """The records kept for ``execution_id``, oldest first."""
    rows = tx.db.execute(
        "SELECT seq, event FROM unrecorded WHERE execution_id = ? ORDER BY seq", (execution_id,)
    ).fetchall()
    return [(int(seq), AuditEvent.model_validate_json(event)) for seq, event in rows]


def held_executions(tx: Transaction) -> list[str]:
    """Every execution with kept records, the one with the oldest record first."""
    rows = tx.db.execute(
        "SELECT execution_id FROM unrecorded GROUP BY execution_id ORDER BY MIN(seq)"
    ).fetchall()
    return [str(execution_id) for (execution_id,) in rows]


def release(tx: Transaction, seq: int) -> bool:
    """Forget a kept record (it is being written); False if another process did."""
    return tx.db.execute("DELETE FROM unrecorded WHERE seq = ?", (seq,)).rowcount == 1
