"""The audit log file as it stands between appends, and whether it can take the next one.

Appends run under an exclusive ``flock`` of the log file (``gateway.audit.log``); taking
the shared lock for a moment gives a size at which every record is complete.  Records
only ever follow that point, so the file can then be read up to it without the lock,
while appends go on.  Reading never goes past that size (a log that is not a regular
file, such as a device, is refused: its size says nothing about what reading it gives).

Every reader of a live log other than the verifier reads it as this module does: a last
line without its newline (an append under way, or one a writer died in, which the next
writer moves aside) is not a record yet and is left out.  ``gateway audit verify``
(``gateway.audit.checkpoints.complete_lines``) reports it as a torn tail instead.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gateway.audit.records import parse_record
from gateway.errors import AuditError, VerificationError

__all__ = [
    "AuditFile",
    "committed_lines",
    "committed_size",
    "file_problem",
    "read_records",
    "record_lines",
]

_TAIL_BYTES = 65_536


def _size_between_appends(descriptor: int) -> int:
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    try:
        return os.fstat(descriptor).st_size
    finally:
        fcntl.flock(descriptor, fcntl.LOCK_UN)


def committed_size(path: Path) -> int:
    """The log's size in bytes with no append half done; ``AuditError`` when the log
    cannot be read or is not a regular file."""
    try:
        with path.open("rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise AuditError(f"{path}: audit log is not a regular file")
            return _size_between_appends(handle.fileno())
    except OSError as exc:
        raise AuditError(f"{path}: cannot read audit log: {exc.strerror}") from exc


def record_lines(path: Path, size: int) -> Iterator[bytes]:
    """The records in the first ``size`` bytes (a committed size), without newlines; never
    reads past ``size``."""
    with path.open("rb") as handle:
        yield from _complete_lines(handle, size)


def _complete_lines(handle: BinaryIO, size: int) -> Iterator[bytes]:
    left = size
    while left > 0:
        raw = handle.readline(left)
        if not raw.endswith(b"\n"):
            return  # the end of the file, an append under way or a torn tail
        left -= len(raw)
        yield raw[:-1]


def committed_lines(path: Path) -> Iterator[bytes]:
    """Every record committed when the first line is asked for."""
    yield from record_lines(path, committed_size(path))


def read_records(path: Path) -> Iterator[bytes]:
    """The records of the log at ``path`` committed when the first line is asked for,
    without newlines, streamed in constant memory; an unterminated last line is left out.
    ``OSError`` as opening or reading the file raises it (``FileNotFoundError`` for a log
    never written)."""
    with path.open("rb") as handle:
        yield from _complete_lines(handle, _size_between_appends(handle.fileno()))


def file_problem(path: Path) -> str | None:
    """Why the next append to the log at ``path`` would fail, or ``None``: the file is
    still there, is a regular file, can be opened for appending, ends with a complete line
    and its last record reads (what the next append needs)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)  # never creates it
        os.close(descriptor)
        with path.open("rb") as handle:
            status = os.fstat(handle.fileno())
            regular = stat.S_ISREG(status.st_mode)
            tail = _tail(handle.fileno(), status.st_size)
            if regular and tail and not tail.endswith(b"\n"):
                # an append may be under way: the tail is torn only if it stays so once
                # no append is half done (a writer died in it)
                tail = _tail(handle.fileno(), _size_between_appends(handle.fileno()))
    except OSError as exc:
        return f"audit log {path} cannot be appended to: {exc.strerror}"
    if not regular:
        return f"audit log {path} is not a regular file"
    if tail and not tail.endswith(b"\n"):
        return f"audit log {path} ends in a torn record"
    if tail:
        try:
            parse_record(tail[:-1].rsplit(b"\n", 1)[-1], -1)
        except VerificationError as exc:
            return f"audit log {path}: last record is unreadable: {exc}"
    return None


def _tail(descriptor: int, size: int) -> bytes:
    start = max(0, size - _TAIL_BYTES)
    return os.pread(descriptor, size - start, start)


@dataclass(frozen=True)
class AuditFile:
    """An audit log file, for reading only (an ``AuditReader``)."""

    path: Path

    @property
    def where(self) -> str:
        return str(self.path)

    def lines(self) -> Iterator[bytes]:
        """The records committed when reading starts; none when the file does not exist
        yet (no record was ever written)."""
        if not self.path.exists():
            return iter(())
        return committed_lines(self.path)
