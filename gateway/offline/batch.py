"""Appending many records to an audit log as one group: one write and one ``fsync``.

``AuditLog`` commits the appends pending at the same moment together (its group commit);
``append_batch`` hands it every event at once, in order, so a merged segment of thousands
of records costs one ``fsync`` rather than thousands.  Every event is sealed, or none is
written: a failure raises ``AuditWriteError``.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.audit.log import AuditLog, _Pending
from gateway.audit.records import AuditEvent, AuditRecord
from gateway.errors import AuditWriteError

__all__ = ["append_batch"]


def append_batch(log: AuditLog, events: Sequence[AuditEvent]) -> list[AuditRecord]:
    """Append ``events`` in order (other writers' records may not come between them when
    one batch is taken whole, but may when another writer is mid-write)."""
    if not events:
        return []
    items = [_Pending(event) for event in events]
    with log._condition:
        log._pending.extend(items[:-1])
    log._submit(items[-1])
    written = []
    for item in items:
        if not isinstance(item.outcome, AuditRecord):
            raise item.outcome or AuditWriteError(f"{log.path}: append failed")
        written.append(item.outcome)
    return written
