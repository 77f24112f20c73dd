"""Appending many records to an audit log as one group: one write and one ``fsync``.

The audit log (``gateway.audit.store.AuditStore``: the file, or the shared database's
table) commits the appends pending at the same moment together (its group commit);
``append_batch`` hands it every event at once, in order, so a merged segment of thousands
of records costs one ``fsync`` rather than thousands.  Every event is sealed, or none is
written: a failure raises ``AuditWriteError``.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.audit.records import AuditEvent, AuditRecord
from gateway.audit.store import AuditStore

__all__ = ["append_batch"]


def append_batch(log: AuditStore, events: Sequence[AuditEvent]) -> list[AuditRecord]:
    """Append ``events`` in order (other writers' records may not come between them when
    one batch is taken whole, but may when another writer is mid-write)."""
    return log.append_batch(events)
