"""The audit log as it stands between appends, for checkpoints and proofs over HTTP.

Appends run under an exclusive ``flock`` of the log file (``gateway.audit.log``); taking
the shared lock for a moment gives a size at which every record is complete.  Records
only ever follow that point, so the file can then be read up to it without the lock,
while decisions keep being appended.  Reading never goes past that size, so a request
costs at most one pass over the committed records (a log that is not a regular file, such
as a device, is refused: its size says nothing about what reading it gives).
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from gateway.audit.keys import Signer
from gateway.audit.merkle import MerkleTree, leaf_hash
from gateway.audit.note import Checkpoint, sign_checkpoint
from gateway.audit.verify import RootAccumulator
from gateway.errors import AuditError

__all__ = ["checkpoint_note", "committed_size", "record_lines", "tree"]


def committed_size(path: Path) -> int:
    """The log's size in bytes with no append half done; ``AuditError`` when the log
    cannot be read or is not a regular file."""
    try:
        with path.open("rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise AuditError(f"{path}: audit log is not a regular file")
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
            try:
                return os.fstat(handle.fileno()).st_size
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except OSError as exc:
        raise AuditError(f"{path}: cannot read audit log: {exc.strerror}") from exc


def record_lines(path: Path, size: int) -> Iterator[bytes]:
    """The records in the first ``size`` bytes (a committed size), without newlines; never
    reads past ``size``."""
    left = size
    with path.open("rb") as handle:
        while left > 0:
            raw = handle.readline(left)
            if not raw.endswith(b"\n"):
                return  # the end of the file, or a record past the committed size
            left -= len(raw)
            yield raw[:-1]


def checkpoint_note(path: Path, signer: Signer, name: str) -> str:
    """A signed C2SP checkpoint over every record committed now."""
    accumulator = RootAccumulator()
    for line in record_lines(path, committed_size(path)):
        accumulator.add(leaf_hash(line))
    checkpoint = Checkpoint(name, accumulator.size, accumulator.root())
    return sign_checkpoint(checkpoint, name, signer.private_key)


def tree(path: Path) -> MerkleTree:
    """The Merkle tree of every record committed now, for proofs."""
    lines = record_lines(path, committed_size(path))
    return MerkleTree.from_leaf_hashes(leaf_hash(line) for line in lines)
