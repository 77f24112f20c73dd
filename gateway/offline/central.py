"""What a merge needs of the central audit log, kept up to date instead of read whole.

A merge needs the kits the central log enrols, revokes and has merged
(``gateway.offline.registry``) and the central changes to the resources a segment
changed (``gateway.offline.conflicts``).  Rather than reading every central record at
each sync, this host keeps a summary next to its quarantine folder
(``<quarantine>/.central-summary.db``, SQLite):

* ``offline``: every central record of an ``offline.*`` type (``seq``, line): the kit
  registry and the kit's own replays are read from these;
* ``changes``: every central record but decisions that names a ``resource``: the CRC-32
  of its spelling in the line (rows of another resource are told apart when read),
  ``seq``, where its line is in a log file, else the line; the central changes to a
  resource are its rows, read back and checked again as ``gateway.offline.conflicts``
  checks them;
* ``position``: the log it summarises (``where``), the last record read (``seq``, the
  SHA-256 of its line) and, for a log file, the bytes where that line starts and ends.

A sync, under the merge turn (``gateway.offline.merge_lock``), first checks that the log
still holds the remembered record at the remembered place with the remembered hash (the
hash chain then vouches for every record before it), and reads only the records after
it: from the remembered byte offset in a file, ``WHERE seq >= seq`` in the database, so
the records every other host appended are read too.  A log that was rotated, restored,
replaced or that is another log entirely fails that check and the summary is rebuilt from
the first record; a log this module cannot read from a position is read whole.  The
records and the new position are written in one transaction: a summary is never half
brought up to date.  A rebuild takes the log's lines a block at a time and does as little
per line as it can (a decision's line is only tested for its end; the ``offline.*``
records are searched in the whole block), inserts each block's rows at once and indexes
them at the end.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, count, islice
from operator import add
from pathlib import Path
from zlib import crc32

from gateway.audit.canonical import canonical_bytes
from gateway.audit.database import DatabaseAuditLog
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditRecord, parse_record
from gateway.audit.segments import OFFLINE_MARK, REPLAYED
from gateway.audit.snapshot import committed_size
from gateway.audit.store import AuditReader
from gateway.errors import AuditError
from gateway.offline.conflicts import Conflict, is_change
from gateway.offline.registry import KitRegistry

__all__ = ["SUMMARY_FILE", "CentralSummary", "Position", "all_blocks", "records_after"]

SUMMARY_FILE = ".central-summary.db"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS position (id INTEGER PRIMARY KEY CHECK (id = 0), "
    "place TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, "
    "start INTEGER NOT NULL, end INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS offline (seq INTEGER PRIMARY KEY, line BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS changes (resource INTEGER NOT NULL, seq INTEGER NOT NULL, "
    "start INTEGER NOT NULL, end INTEGER NOT NULL, line BLOB)",
    _INDEX := "CREATE INDEX IF NOT EXISTS changes_by_resource ON changes (resource, seq)",
)
_RESOURCE = re.compile(rb'"resource":"([^"\\]*(?:\\.[^"\\]*)*)","seq":')
_DECISION_END = b',"type":"decision","v":1}'  # the last members: never the payload's
_REPLAYED_MARK = f'"type":"{REPLAYED}"'.encode()
_CHUNK = 5_000  # rows inserted, lines read whole, at a time


@dataclass(frozen=True)
class Position:
    """The last record read: its ``seq``, the SHA-256 of its line and, in a log file, the
    bytes where the line starts and where the next one starts."""

    place: str
    seq: int
    hash: str
    start: int = 0
    end: int = 0


Read = Iterator[tuple[int, bytes, int, int]]  # seq, line, start, end
Block = tuple[int, int, list[bytes]]  # the seq and offset of the first line, the lines


def _file_after(path: Path, position: Position) -> Read | None:
    size = committed_size(path)
    if position.end > size:
        return None
    with path.open("rb") as handle:
        handle.seek(position.start)
        raw = handle.read(position.end - position.start)
    if raw[-1:] != b"\n" or hashlib.sha256(raw[:-1]).hexdigest() != position.hash:
        return None
    return _file_lines(path, position.end, size, position.seq + 1)


def _file_lines(path: Path, start: int, size: int, seq: int) -> Read:
    with path.open("rb") as handle:
        handle.seek(start)
        while start < size:
            raw = handle.readline(size - start)
            if not raw.endswith(b"\n"):
                return  # an append under way or a torn tail: not a record yet
            yield seq, raw[:-1], start, start + len(raw)
            start, seq = start + len(raw), seq + 1


def _database_after(audit: DatabaseAuditLog, position: Position) -> Read | None:
    rows = audit.lines_from(position.seq)
    first = next(rows, None)
    if first is None or first[0] != position.seq:
        return None
    if hashlib.sha256(first[1]).hexdigest() != position.hash:
        return None
    return ((seq, line, 0, 0) for seq, line in rows)


def records_after(audit: AuditReader, position: Position) -> Read | None:
    """The records of ``audit`` after ``position``, or ``None`` when the log no longer
    holds the record at ``position`` (or cannot be read from a position): rebuild."""
    if position.place != audit.where:
        return None
    if isinstance(audit, AuditLog):
        return _file_after(audit.path, position)
    if isinstance(audit, DatabaseAuditLog):
        return _database_after(audit, position)
    return None


def all_blocks(audit: AuditReader) -> Iterator[Block]:
    """Every record of ``audit`` (``lines``, the snapshot every reader takes), from the
    first, ``_CHUNK`` lines at a time; a line's place in the log is its ``seq``, as the
    chain requires, and it starts where the line before it ends."""
    lines = iter(audit.lines())
    seq = offset = 0
    while block := list(islice(lines, _CHUNK)):
        yield seq, offset, block
        seq, offset = seq + len(block), offset + sum(map(len, block)) + len(block)


class CentralSummary:
    """The summary of ``audit`` kept in ``folder``; ``refresh`` brings it up to date."""

    def __init__(self, audit: AuditReader, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.audit = audit
        self.file = audit.path if isinstance(audit, AuditLog) else None
        self.db = sqlite3.connect(folder / SUMMARY_FILE, isolation_level=None)
        # A cache: deleting the file is always safe, the next refresh rebuilds it.  WAL
        # with synchronous=NORMAL syncs at checkpoints only, and keeps the file whole
        # through a crash (OFF would save little here and could leave it corrupt).
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            self.db.execute(statement)
        self.read = 0  # records read by the last refresh
        self.rebuilt = False  # whether it started again from the first record

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> CentralSummary:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def position(self) -> Position | None:
        row = self.db.execute("SELECT place, seq, hash, start, end FROM position").fetchone()
        return None if row is None else Position(*row)

    def refresh(self) -> int:
        """Read the records appended since the last refresh (all of them when the log no
        longer holds the remembered record); return how many were read."""
        remembered = self.position()
        records = None if remembered is None else records_after(self.audit, remembered)
        self.rebuilt = records is None
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if self.rebuilt:
                self.db.execute("DROP INDEX changes_by_resource")  # built once, at the end
                for table in ("position", "offline", "changes"):
                    self.db.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)
            if records is None:
                self.read = self._add_blocks(all_blocks(self.audit))
            else:
                self.read = self._add(records)
            self.db.execute(_INDEX)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return self.read

    def _add(self, records: Read) -> int:
        count, last = 0, None
        offline: list[tuple[int, bytes]] = []
        changes: list[tuple[int, int, int, int, bytes | None]] = []
        for seq, line, start, end in records:
            count, last = count + 1, (seq, line, start, end)
            if OFFLINE_MARK in line:
                offline.append((seq, line))
            if not line.endswith(_DECISION_END):
                keys = {crc32(resource) for resource in _RESOURCE.findall(line)}
                stored = None if self.file else line  # a file's lines are read back there
                changes += [(key, seq, start, end, stored) for key in keys]
            if len(changes) >= _CHUNK:
                self._insert(offline, changes)
        self._insert(offline, changes)
        self._remember(last)
        return count

    def _add_blocks(self, blocks: Iterator[Block]) -> int:
        """As ``_add`` for the whole log, a block of lines at a time: the same rows,
        found with as little Python work per line as can be (a decision's line is only
        tested for its end, the ``offline.*`` records are searched in the whole block)."""
        keep = self.file is None  # a file's lines are read back there
        read, last = 0, None
        for first, offset, lines in blocks:
            # where each line starts in the file, then where the last one ends
            places = list(map(add, accumulate(map(len, lines), initial=offset), count()))
            data = b"\n".join(lines)
            offline = []
            found = data.find(OFFLINE_MARK)
            while found >= 0:
                index = bisect_right(places, offset + found) - 1
                offline.append((first + index, lines[index]))
                found = data.find(OFFLINE_MARK, places[index + 1] - offset)
            changes = [
                (key, seq, start, end, line if keep else None)
                for line, seq, start, end in zip(lines, count(first), places, places[1:])
                if not line.endswith(_DECISION_END)
                for key in set(map(crc32, _RESOURCE.findall(line)))
            ]
            self._insert(offline, changes)
            read += len(lines)
            last = (first + len(lines) - 1, lines[-1], places[-2], places[-1])
        self._remember(last)
        return read

    def _remember(self, last: tuple[int, bytes, int, int] | None) -> None:
        if last is not None:
            seq, line, start, end = last
            self.db.execute(
                "INSERT OR REPLACE INTO position VALUES (0, ?, ?, ?, ?, ?)",
                (self.audit.where, seq, hashlib.sha256(line).hexdigest(), start, end),
            )

    def _insert(
        self,
        offline: list[tuple[int, bytes]],
        changes: list[tuple[int, int, int, int, bytes | None]],
    ) -> None:
        self.db.executemany("INSERT INTO offline VALUES (?, ?)", offline)
        self.db.executemany("INSERT INTO changes VALUES (?, ?, ?, ?, ?)", changes)
        offline.clear()
        changes.clear()

    def registry(self) -> KitRegistry:
        """The kits the central log enrols, revokes and has merged."""
        registry = KitRegistry()
        for seq, line in self.db.execute("SELECT seq, line FROM offline ORDER BY seq"):
            registry.see(parse_record(bytes(line), seq))
        return registry

    def own_executions(self, since: int, kit_id: str) -> frozenset[str]:
        """The executions that replayed kit ``kit_id``'s queued actions after ``since``."""
        found = set()
        rows = self.db.execute("SELECT seq, line FROM offline WHERE seq > ? ORDER BY seq", (since,))
        for seq, line in rows:
            if _REPLAYED_MARK in line:
                record = parse_record(bytes(line), seq)
                execution = record.payload.get("execution")
                if record.payload.get("kit_id") == kit_id and isinstance(execution, dict):
                    found.add(str(execution.get("id")))
        return frozenset(found)

    def changes_to(self, resource: str, since: int, own: frozenset[str]) -> list[AuditRecord]:
        """Central changes to ``resource`` after record ``since``, but for the records of
        the executions ``own`` (the kit's replays)."""
        rows = self.db.execute(
            "SELECT seq, start, end, line FROM changes WHERE resource = ? AND seq > ? ORDER BY seq",
            (crc32(canonical_bytes(resource)[1:-1]), since),
        ).fetchall()
        found = []
        for seq, record in zip((row[0] for row in rows), self._records(rows), strict=True):
            if record.seq != seq:
                raise AuditError(f"{self.audit.where}: the log changed while a merge read it")
            if (
                record.resource == resource
                and is_change(record.type, record.resource)
                and record.payload.get("execution") not in own
            ):
                found.append(record)
        return found

    def _records(self, rows: list[tuple[int, int, int, bytes | None]]) -> Iterator[AuditRecord]:
        """The records of ``rows`` of ``changes``: the line kept, or read back from the file."""
        if self.file is None or not rows:
            yield from (parse_record(bytes(line or b""), seq) for seq, _, _, line in rows)
            return
        with self.file.open("rb") as handle:
            for seq, start, end, _ in rows:
                handle.seek(start)
                yield parse_record(handle.read(end - start).rstrip(b"\n"), seq)

    def conflicts(self, records: Sequence[AuditRecord], since: int, kit_id: str) -> list[Conflict]:
        """As ``gateway.offline.conflicts.find_conflicts``, from the summary."""
        if not records:
            return []
        own = self.own_executions(since, kit_id)
        changed = {
            resource: self.changes_to(resource, since, own)
            for resource in {str(record.resource) for record in records}
        }
        found = ((record, changed[str(record.resource)]) for record in records)
        return [Conflict(record, tuple(central)) for record, central in found if central]
