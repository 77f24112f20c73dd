"""The audit log as it stands between appends, for checkpoints and proofs over HTTP.

Appends run under an exclusive ``flock`` of the log file (``gateway.audit.log``); taking
the shared lock for a moment gives a size at which every record is complete.  Records
only ever follow that point, so the file can then be read up to it without the lock,
while decisions keep being appended.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from gateway.audit.keys import Signer
from gateway.audit.merkle import MerkleTree, leaf_hash
from gateway.audit.note import Checkpoint, sign_checkpoint
from gateway.audit.verify import RootAccumulator

__all__ = ["checkpoint_note", "committed_size", "record_lines", "tree"]


def committed_size(path: Path) -> int:
    """The log's size in bytes with no append half done."""
    with path.open("rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            return os.fstat(handle.fileno()).st_size
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def record_lines(path: Path, size: int) -> Iterator[bytes]:
    """The records in the first ``size`` bytes (a committed size), without newlines."""
    read = 0
    with path.open("rb") as handle:
        for raw in handle:
            read += len(raw)
            if read > size:
                return
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
