"""Group commit, shared by every form of the audit log: appends from many threads of one
process are sealed in order and committed together.

``GroupCommit.append`` queues the event; the first caller to find no batch being written
becomes the writer, takes every queued event, and hands them to ``_commit`` (one write and
one ``fsync`` for the file, one transaction for a database).  Every caller returns once its
own record is committed, or raises ``AuditWriteError``; an event that cannot be sealed is
refused alone while the others of its batch go ahead.

``GroupCommit.append_async`` is the same append for a coroutine on an event loop: its event
joins the same queue, and the coroutine waits, without holding a thread, until its record is
committed (or refused) exactly as ``append`` would.  When no batch is being written, a worker
thread becomes the writer and drains the queue (sealing, write, ``fsync``) until it is empty;
each record's waiter is woken on its own loop once its batch is written.  A thread that led
a batch and leaves only awaiting coroutines queued hands the queue to a new writer thread,
so a thread's ``append`` never waits for more than the batches before its own.  (The HTTP
decision routes do not await it yet: docs/benchmarks.md, "Third pass", has the figures.)
``seal_batch`` is the one loop that chains and signs a batch over the previous record
(``gateway.audit.records.seal_record``).
"""

from __future__ import annotations

import asyncio
import contextlib
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
    # The future an awaiting coroutine waits on until ``outcome`` is set (``append_async``);
    # ``None`` for a thread, which waits on the queue's condition.
    waiter: asyncio.Future[None] | None = None


def _wake(batch: Sequence[Pending]) -> None:
    """Called from the writer's thread once ``batch`` is written: resolve its waiters, with
    one call into each event loop they wait on."""
    waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for item in batch:
        if item.waiter is not None:
            waiting.setdefault(item.waiter.get_loop(), []).append(item.waiter)
    for loop, futures in waiting.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody awaits them
            loop.call_soon_threadsafe(_resolve, futures)


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():  # a cancelled waiter: its record is written all the same
            future.set_result(None)


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

    async def append_async(self, event: AuditEvent) -> AuditRecord:
        """``append`` for a coroutine: return once the record is committed, without
        holding a thread while it waits (``AuditWriteError`` when it is not written)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        pending = Pending(event, waiter=future)
        with self._condition:
            self._pending.append(pending)
            lead = not self._writing
            self._writing = True
        if lead:
            loop.run_in_executor(None, self._drain)
        await future
        return _outcome(pending)

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
                self._write(batch)
            finally:
                with self._condition:
                    # Only coroutines left waiting: no thread of theirs will lead, so a
                    # writer thread drains the queue while this caller returns.
                    hand_off = bool(self._pending) and all(
                        item.waiter is not None for item in self._pending
                    )
                    self._writing = hand_off
                    self._condition.notify_all()
                if hand_off:
                    threading.Thread(target=self._drain, name="audit-writer", daemon=True).start()
        return _outcome(pending)

    def _drain(self) -> None:
        """Write batches until the queue is empty (the writer of awaiting coroutines)."""
        while True:
            with self._condition:
                batch, self._pending = self._pending, []
                if not batch:
                    self._writing = False
                    self._condition.notify_all()
                    return
            self._write(batch)
            with self._condition:
                self._condition.notify_all()  # threads whose records were in this batch

    def _write(self, batch: list[Pending]) -> None:
        """Commit one group; every entry of ``batch`` gets its outcome, and the coroutines
        awaiting theirs are woken."""
        self._commit_group(batch)
        _wake(batch)

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
