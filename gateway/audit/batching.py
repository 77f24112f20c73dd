"""Group commit, shared by every form of the audit log: appends from many threads of one
process are sealed in order and committed together.

``GroupCommit.append`` queues the event; the first caller to find no batch being written
becomes the writer, takes every queued event, and hands them to ``_commit`` (one write and
one ``fsync`` for the file, one transaction for a database).  Every caller returns once its
own record is committed, or raises ``AuditWriteError``; an event that cannot be sealed is
refused alone while the others of its batch go ahead.

``seal_batch`` is the one loop that chains and signs a batch over the previous record
(``gateway.audit.records.seal_record``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.audit.canonical import CanonicalError
from gateway.audit.keys import Signer, raw_public_key
from gateway.audit.records import (
    GENESIS_PREV,
    KEY_ROTATED,
    AuditEvent,
    AuditRecord,
    PayloadSealer,
    format_time,
    seal_record,
)
from gateway.clock import Clock
from gateway.errors import AuditWriteError, GatewayError

__all__ = ["GroupCommit", "Head", "Pending", "describe", "key_in_force", "seal_batch"]


@dataclass
class Pending:
    event: AuditEvent
    rotates_to: Signer | None = None  # for a rotation record: the key in force after it
    outcome: AuditRecord | AuditWriteError | None = None  # set once the batch is written


def _outcome(pending: Pending) -> AuditRecord:
    outcome = pending.outcome
    if isinstance(outcome, AuditRecord):
        return outcome
    raise outcome or RuntimeError("audit append finished without an outcome")


@dataclass
class Head:
    """Where the log ends: the next sequence number, the last hash and the key in force
    (``size`` is the file log's length in bytes)."""

    size: int = 0
    next_seq: int = 0
    prev: str = GENESIS_PREV
    key_id: str | None = None


def key_in_force(record: AuditRecord) -> str:
    """The key that must sign the record after ``record``."""
    if record.type == KEY_ROTATED:
        return str(record.payload.get("new_key_id"))
    return record.key_id


def describe(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)


def seal_batch(
    batch: Sequence[Pending],
    head: Head,
    signer: Signer,
    *,
    time: str,
    sealer: PayloadSealer | None,
    where: str,
) -> tuple[list[tuple[Pending, AuditRecord]], Signer]:
    """Chain and sign ``batch`` after ``head``: the records sealed (an event that cannot be
    sealed gets its error as outcome and is skipped) and the key in force after them."""
    if head.key_id is not None and signer.key_id != head.key_id:
        raise AuditWriteError(
            f"{where}: the log is signed by key {head.key_id}, this writer holds "
            f"{signer.key_id} (was the key rotated?)"
        )
    seq, prev = head.next_seq, head.prev
    written: list[tuple[Pending, AuditRecord]] = []
    for item in batch:
        try:
            record = seal_record(
                item.event, seq=seq, prev=prev, time=time, signer=signer, sealer=sealer
            )
        except (CanonicalError, RecursionError, ValueError, GatewayError) as exc:
            # This event alone is refused; the others of the group go ahead.
            item.outcome = AuditWriteError(f"{where}: append failed: {describe(exc)}")
            continue
        written.append((item, record))
        signer = item.rotates_to or signer
        seq, prev = seq + 1, record.hash
    return written, signer


class GroupCommit:
    """Appending, rotating and group commit over ``_commit``, which a log form provides.

    A subclass holds ``signer``, ``clock``, ``sealer``, ``last_failure`` and the queue
    (``_condition``, ``_pending``, ``_writing``), and names itself in messages (``where``).
    """

    signer: Signer
    clock: Clock
    sealer: PayloadSealer | None
    last_failure: str | None
    _condition: threading.Condition
    _pending: list[Pending]
    _writing: bool

    @property
    def where(self) -> str:
        raise NotImplementedError

    def _commit(self, batch: list[Pending]) -> list[tuple[Pending, AuditRecord]]:
        """Seal ``batch`` after the log's last record and commit it; return what was
        written.  Raising means nothing of the batch was written."""
        raise NotImplementedError

    def _sealed_time(self) -> str:
        return format_time(self.clock())

    def append(self, event: AuditEvent) -> AuditRecord:
        """Append one record and return it once it is committed."""
        return self._submit(Pending(event))

    def append_batch(self, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        """Append ``events`` in order, committed together when no other batch is being
        written (other writers' records may come between them otherwise); raise
        ``AuditWriteError`` when any of them is not written."""
        if not events:
            return []
        items = [Pending(event) for event in events]
        with self._condition:
            self._pending.extend(items[:-1])
        self._submit(items[-1])
        written = []
        for item in items:
            if not isinstance(item.outcome, AuditRecord):
                raise item.outcome or AuditWriteError(f"{self.where}: append failed")
            written.append(item.outcome)
        return written

    def rotate_key(self, new_signer: Signer) -> AuditRecord:
        """Introduce ``new_signer``: the current key signs a record naming the new key, and
        every later record is signed by the new key."""
        event = AuditEvent(
            type=KEY_ROTATED,
            payload={
                "new_key_id": new_signer.key_id,
                "new_public_key": raw_public_key(new_signer.public_key).hex(),
            },
        )
        return self._submit(Pending(event, rotates_to=new_signer))

    def _submit(self, pending: Pending) -> AuditRecord:
        with self._condition:
            self._pending.append(pending)
            while self._writing and pending.outcome is None:
                self._condition.wait()
            leader = pending.outcome is None
            if leader:
                self._writing = True
                batch, self._pending = self._pending, []
        if leader:
            try:
                self._commit_group(batch)
            finally:
                with self._condition:
                    self._writing = False
                    self._condition.notify_all()
        return _outcome(pending)

    def _commit_group(self, batch: list[Pending]) -> None:
        try:
            written = self._commit(batch)
        except Exception as exc:  # fail closed: whatever went wrong, nothing was written
            error = (
                exc
                if isinstance(exc, AuditWriteError)
                else AuditWriteError(f"{self.where}: append failed: {describe(exc)}")
            )
            for item in batch:
                if item.outcome is None:
                    item.outcome = error
            self.last_failure = str(error)
            return
        self.last_failure = None
        for item, record in written:
            item.outcome = record
