"""The audit log as it stands between appends, for checkpoints and proofs over HTTP.

The records are read through the log's seam (``AuditReader.lines``): for the file, up to
a size at which every record is complete (``gateway.audit.snapshot``); for the shared
database, up to the last record committed when reading starts.  Records only ever follow
that point, so decisions keep being appended while a request reads, and a request costs
at most one pass over the committed records.
"""

from __future__ import annotations

from gateway.audit.keys import Signer
from gateway.audit.merkle import MerkleTree, leaf_hash
from gateway.audit.note import Checkpoint, sign_checkpoint
from gateway.audit.snapshot import committed_size, record_lines
from gateway.audit.store import AuditReader
from gateway.audit.verify import RootAccumulator

__all__ = ["checkpoint_note", "committed_size", "record_lines", "tree"]


def checkpoint_note(log: AuditReader, signer: Signer, name: str) -> str:
    """A signed C2SP checkpoint over every record committed now."""
    accumulator = RootAccumulator()
    for line in log.lines():
        accumulator.add(leaf_hash(line))
    checkpoint = Checkpoint(name, accumulator.size, accumulator.root())
    return sign_checkpoint(checkpoint, name, signer.private_key)


def tree(log: AuditReader) -> MerkleTree:
    """The Merkle tree of every record committed now, for proofs."""
    return MerkleTree.from_leaf_hashes(leaf_hash(line) for line in log.lines())
