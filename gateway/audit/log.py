"""The append-only audit log file: durable, ordered appends from threads and processes.

Invariants, in the order an append keeps them:

1. An append returns only after its record is on disk (``fsync``); if anything fails the
   caller gets ``AuditWriteError`` and the log is left as it was (a partial write is cut).
   ``last_failure`` says why the last write failed until a write works again.
2. Appends from threads of one process are committed in groups: one writer takes every
   pending record, seals them in order, writes them with one ``write`` and one ``fsync``.
3. Appends from several processes are serialised by an exclusive ``flock`` on the log;
   under the lock the writer re-reads the last record, so sequence numbers and the hash
   chain continue whoever wrote last.
4. Opening a log whose last line has no newline (a writer died mid-append) moves that torn
   tail to ``<log>.torn-<UTC time>``, cuts it off and appends an ``audit.tail_quarantined``
   record saying how many bytes were moved and their SHA-256.  A complete line is never
   dropped.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from gateway.audit.batching import GroupCommit, Head, Pending, key_in_force, seal_batch
from gateway.audit.keys import Signer
from gateway.audit.records import AuditEvent, AuditRecord, PayloadSealer, parse_record
from gateway.audit.snapshot import committed_lines, file_problem
from gateway.clock import Clock, utcnow
from gateway.errors import AuditWriteError, VerificationError

__all__ = ["AuditLog", "read_lines"]

_TAIL_CHUNK = 65_536


# Where a field kit's segment starts its chain (``gateway.offline.segment``).
_Head = Head


def read_lines(path: Path) -> Iterator[bytes]:
    """The log's complete lines, without newlines, streamed in constant memory."""
    with path.open("rb") as handle:
        for raw in handle:
            if raw.endswith(b"\n"):
                yield raw[:-1]
            else:
                yield raw  # a torn tail: the verifier reports it


@dataclass
class AuditLog(GroupCommit):
    """An open audit log file; ``append`` is safe from many threads and processes."""

    path: Path
    signer: Signer
    clock: Clock = utcnow
    # Seals personal payload members before signing (``gateway.privacy``); ``None`` writes
    # them as given.
    sealer: PayloadSealer | None = None
    _descriptor: int = field(init=False, default=-1)
    _head: Head = field(init=False, default_factory=Head)
    _condition: threading.Condition = field(init=False, default_factory=threading.Condition)
    _pending: list[Pending] = field(init=False, default_factory=list)
    _writing: bool = field(init=False, default=False)
    # Why the last write failed; ``None`` once a write works again (readiness reports it).
    last_failure: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise AuditWriteError(f"{self.path}: cannot open audit log: {exc.strerror}") from exc
        try:
            with self._locked():
                torn = self._cut_torn_tail()
        except OSError as exc:
            raise AuditWriteError(
                f"{self.path}: cannot quarantine a torn tail: {exc.strerror}"
            ) from exc
        if torn is not None:
            self.append(torn)

    # -- reading the end of the file -------------------------------------------------------

    def _read_tail(self, size: int) -> bytes:
        start = max(0, size - _TAIL_CHUNK)
        while True:
            chunk = os.pread(self._descriptor, size - start, start)
            body = chunk[:-1] if chunk.endswith(b"\n") else chunk
            if b"\n" in body or start == 0:
                return chunk
            start = max(0, start - _TAIL_CHUNK)

    def _refresh_head(self) -> None:
        size = os.fstat(self._descriptor).st_size
        if size == self._head.size:
            return
        tail = self._read_tail(size)
        last = tail[:-1].rsplit(b"\n", 1)[-1]
        try:
            record = parse_record(last, -1)
        except VerificationError as exc:
            raise AuditWriteError(f"{self.path}: last record is unreadable: {exc}") from exc
        self._head = Head(size, record.seq + 1, record.hash, key_in_force(record))

    def _cut_torn_tail(self) -> AuditEvent | None:
        size = os.fstat(self._descriptor).st_size
        if size == 0:
            return None
        tail = self._read_tail(size)
        if tail.endswith(b"\n"):
            return None
        torn = tail.rsplit(b"\n", 1)[-1]
        stamp = self.clock().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        quarantine = self.path.with_name(f"{self.path.name}.torn-{stamp}")
        number = 1
        while True:  # never overwrite evidence moved aside earlier
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
                with os.fdopen(os.open(quarantine, flags, 0o600), "wb") as handle:
                    handle.write(torn)
                    handle.flush()
                    os.fsync(handle.fileno())
                break
            except FileExistsError:
                number += 1
                quarantine = self.path.with_name(f"{self.path.name}.torn-{stamp}-{number}")
        os.ftruncate(self._descriptor, size - len(torn))
        os.fsync(self._descriptor)
        return AuditEvent(
            type="audit.tail_quarantined",
            payload={
                "bytes": len(torn),
                "sha256": hashlib.sha256(torn).hexdigest(),
                "file": quarantine.name,
            },
        )

    # -- appending -------------------------------------------------------------------------

    def _locked(self) -> _FileLock:
        return _FileLock(self._descriptor)

    @property
    def where(self) -> str:
        return str(self.path)

    def lines(self) -> Iterator[bytes]:
        """The records committed now, in order, without newlines (a snapshot: records
        appended meanwhile are not read)."""
        return committed_lines(self.path)

    def readiness_problem(self) -> str | None:
        """Why the next append would fail, reading the file only, or ``None``."""
        return file_problem(self.path)

    def _commit(self, batch: list[Pending]) -> list[tuple[Pending, AuditRecord]]:
        with self._locked():
            self._refresh_head()
            return self._seal_and_write(batch)

    def _seal_and_write(self, batch: list[Pending]) -> list[tuple[Pending, AuditRecord]]:
        head = self._head
        written, signer = seal_batch(
            batch,
            head,
            self.signer,
            time=self._sealed_time(),
            sealer=self.sealer,
            where=self.where,
        )
        data = b"".join(record.line + b"\n" for _, record in written)
        self._write_durably(data, head.size)
        self._head = Head(
            head.size + len(data),
            head.next_seq + len(written),
            written[-1][1].hash if written else head.prev,
            signer.key_id if written else head.key_id,
        )
        self.signer = signer
        return written

    def _write_durably(self, data: bytes, size: int) -> None:
        try:
            written = 0
            while written < len(data):
                written += os.write(self._descriptor, data[written:])
            os.fsync(self._descriptor)
        except OSError:
            with contextlib.suppress(OSError):  # keep the first error, not the clean-up's
                os.ftruncate(self._descriptor, size)  # leave no partial record behind
            raise

    def close(self) -> None:
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1
            closer = getattr(self.sealer, "close", None)
            if callable(closer):
                closer()  # the sealer's data key store

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _FileLock:
    """An exclusive ``flock`` held for one batch, so processes take turns."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor

    def __enter__(self) -> None:
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self._descriptor, fcntl.LOCK_UN)
