"""The audit log in the shared database: one chain for every gateway process and host.

Records live in one table of the audit store's schema (``gateway_audit`` on PostgreSQL):

    audit_records (seq, line, hash, next_key_id)

``line`` is the record's exact canonical bytes (what the file form stores on one line),
``hash`` its SHA-256 (the next record's ``prev``) and ``next_key_id`` the key that must sign
the next record.  Invariants, in the order an append keeps them:

1. A batch is appended in one write transaction of the audit store, which first takes the
   store's lock (``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite):
   write transactions run one at a time across every process and host.
2. Under the lock the writer reads the last ``(seq, hash, next_key_id)``, seals the batch
   after it (``gateway.audit.batching.seal_batch``, the function the file log uses) and
   inserts it; ``seq`` is the primary key, so no two records share a place.
3. A record is appended when that transaction commits; ``append`` returns only then, so a
   change that waits for its record (audit before action) happens after the record is
   durable for every process.  If anything fails the caller gets ``AuditWriteError`` and
   the transaction rolls back: nothing of the batch was written.
4. Appends from threads of one process are committed in groups (``GroupCommit``): the lock
   is taken once per batch, not once per record, and the records' personal fields are
   sealed as of one reading of the data key store (``PersonalDataSealer.batch``).

Reading (``lines``) takes the last ``seq`` first, then pages through the records up to it
in order: a snapshot of what was committed when reading started, in constant memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from gateway.audit.batching import GroupCommit, Head, Pending, key_in_force, seal_batch
from gateway.audit.keys import Signer
from gateway.audit.records import AuditRecord, PayloadSealer, parse_record
from gateway.clock import Clock, utcnow
from gateway.errors import AuditError, AuditWriteError, VerificationError
from gateway.storage import Backend, Schema

__all__ = ["SCHEMA", "DatabaseAuditLog", "DatabaseAuditRecords"]

SCHEMA = Schema(
    "audit",
    (
        "CREATE TABLE audit_records (seq INTEGER NOT NULL, line BLOB NOT NULL, "
        "hash TEXT NOT NULL, next_key_id TEXT NOT NULL, PRIMARY KEY (seq))",
    ),
)

_PAGE = 2000  # records read per query
_HEAD = "SELECT seq, hash, next_key_id FROM audit_records ORDER BY seq DESC LIMIT 1"
_INSERT = "INSERT INTO audit_records (seq, line, hash, next_key_id) VALUES (?, ?, ?, ?)"
_PAGE_FROM = "SELECT seq, line FROM audit_records WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?"


class DatabaseAuditRecords:
    """The records of the audit table, for reading only (an ``AuditReader``): no signing
    key needed, for export and every reader of the log."""

    def __init__(self, backend: Backend, path: Path = Path("audit.db")) -> None:
        self.database = backend.open(SCHEMA, path, what="audit read", error=AuditError)
        self.where = self.database.where

    def lines(self) -> Iterator[bytes]:
        """The records committed when the first one is asked for, in ``seq`` order: the
        last ``seq`` first, then pages up to it, each in a read-only snapshot."""
        with self.database.transaction(write=False) as db:
            row = db.execute("SELECT max(seq) FROM audit_records").fetchone()
        last = -1 if row is None or row[0] is None else int(row[0])
        start = 0
        while start <= last:
            with self.database.transaction(write=False) as db:
                page = db.execute(_PAGE_FROM, (start, last, _PAGE)).fetchall()
            for _, line in page:
                yield bytes(line)
            start = int(page[-1][0]) + 1 if page else last + 1

    def lines_from(self, seq: int) -> Iterator[tuple[int, bytes]]:
        """The records from ``seq`` on (``WHERE seq >= seq``) committed when the first one
        is asked for, with their ``seq``, in order: a reader that remembers where it
        stopped reads only what came after."""
        with self.database.transaction(write=False) as db:
            row = db.execute("SELECT max(seq) FROM audit_records").fetchone()
        last = -1 if row is None or row[0] is None else int(row[0])
        start = seq
        while start <= last:
            with self.database.transaction(write=False) as db:
                page = db.execute(_PAGE_FROM, (start, last, _PAGE)).fetchall()
            for number, line in page:
                yield int(number), bytes(line)
            start = int(page[-1][0]) + 1 if page else last + 1

    def close(self) -> None:
        self.database.close()


class DatabaseAuditLog(GroupCommit):
    """The audit log as a table of ``backend`` (``path`` is its SQLite file, which only the
    SQLite backend uses); ``append`` is safe from many threads, processes and hosts."""

    def __init__(
        self,
        backend: Backend,
        signer: Signer,
        *,
        path: Path = Path("audit.db"),
        clock: Clock = utcnow,
        sealer: PayloadSealer | None = None,
    ) -> None:
        self.signer = signer
        self.clock = clock
        self.sealer = sealer
        self.last_failure: str | None = None
        self._condition = threading.Condition()
        self._pending: list[Pending] = []
        self._writing = False
        self._writes = backend.open(SCHEMA, path, what="audit append", error=AuditWriteError)
        self._records = DatabaseAuditRecords(backend, path)
        self._reads = self._records.database
        self._where = self._writes.where

    @property
    def where(self) -> str:
        return self._where

    def _sealing(self) -> AbstractContextManager[object]:
        """The sealer's batch, if it has one: the records of a batch are sealed as of one
        reading of the data key store (``PersonalDataSealer.batch``)."""
        batch = getattr(self.sealer, "batch", None)
        return batch() if callable(batch) else nullcontext()

    def _commit(self, batch: list[Pending]) -> list[tuple[Pending, AuditRecord]]:
        with self._writes.transaction() as db, self._sealing():
            row = db.execute(_HEAD).fetchone()
            head = Head() if row is None else Head(0, int(row[0]) + 1, str(row[1]), str(row[2]))
            written, signer = seal_batch(
                batch,
                head,
                self.signer,
                time=self._sealed_time(),
                sealer=self.sealer,
                where=self.where,
            )
            if written:
                db.executemany(
                    _INSERT,
                    [(r.seq, r.line, r.hash, key_in_force(r)) for _, r in written],
                )
        self.signer = signer
        return written

    def lines(self) -> Iterator[bytes]:
        """The records committed when the first one is asked for, in ``seq`` order."""
        return self._records.lines()

    def lines_from(self, seq: int) -> Iterator[tuple[int, bytes]]:
        """The records from ``seq`` on, with their ``seq``; see ``DatabaseAuditRecords``."""
        return self._records.lines_from(seq)

    def readiness_problem(self) -> str | None:
        """Why the next append would fail: the database cannot be read, or its last record
        does not parse; ``None`` otherwise."""
        try:
            with self._reads.transaction(write=False) as db:
                row = db.execute(
                    "SELECT seq, line FROM audit_records ORDER BY seq DESC LIMIT 1"
                ).fetchone()
        except AuditError as exc:
            return f"audit log cannot be read: {exc}"
        if row is not None:
            try:
                parse_record(bytes(row[1]), int(row[0]))
            except VerificationError as exc:
                return f"audit log {self.where}: last record is unreadable: {exc}"
        return None

    def close(self) -> None:
        self._writes.close()
        self._reads.close()
        closer = getattr(self.sealer, "close", None)
        if callable(closer):
            closer()  # the sealer's data key store

    def __enter__(self) -> DatabaseAuditLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
