"""Signed checkpoints and Merkle proofs over an audit log file.

A checkpoint is a C2SP ``tlog-checkpoint`` signed note whose origin (and note key name) is
the log's name; its tree has one leaf per record, the leaf data being the record's line
without its newline.  Auditors keep checkpoints: a later checkpoint plus a consistency
proof shows the log only grew.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.keys import Signer, key_id
from gateway.audit.log import read_lines
from gateway.audit.merkle import MerkleTree, ProofError, leaf_hash, verify_consistency
from gateway.audit.note import (
    Checkpoint,
    NoteError,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from gateway.audit.records import parse_record
from gateway.audit.snapshot import read_records
from gateway.audit.verify import (
    RootAccumulator,
    VerifyReport,
    find_rotation_to,
    verify_records,
    wrong_pinned_key,
)
from gateway.errors import VerificationError

__all__ = [
    "DEFAULT_LOG_NAME",
    "LogVerification",
    "build_tree",
    "check_consistency",
    "complete_lines",
    "make_checkpoint",
    "open_signed_checkpoint",
    "read_checkpoint",
    "verify_log_file",
]

DEFAULT_LOG_NAME = "it-support-gateway/audit"


def complete_lines(log: Path) -> Iterator[bytes]:
    """The log's lines for verification: a last line without its newline is a torn tail,
    which is malformed."""
    for index, raw in enumerate(_raw_lines(log)):
        if not raw.endswith(b"\n"):
            raise VerificationError("malformed record", "torn tail: the line has no newline", index)
        yield raw[:-1]


def _raw_lines(log: Path) -> Iterator[bytes]:
    with log.open("rb") as handle:
        yield from handle


def make_checkpoint(log: Path, signer: Signer, name: str = DEFAULT_LOG_NAME) -> str:
    """A signed checkpoint over every record of ``log`` as it is now."""
    accumulator = RootAccumulator()
    for line in read_records(log):
        accumulator.add(leaf_hash(line))
    checkpoint = Checkpoint(name, accumulator.size, accumulator.root())
    return sign_checkpoint(checkpoint, name, signer.private_key)


def build_tree(log: Path) -> MerkleTree:
    """The Merkle tree of every record of ``log``, for proofs."""
    return MerkleTree.from_leaf_hashes(leaf_hash(line) for line in read_records(log))


def read_checkpoint(note: str) -> Checkpoint:
    """The checkpoint a note claims, before its signature is checked."""
    text, separator, _ = note.partition("\n\n")
    if not separator:
        raise VerificationError("bad checkpoint", "not a signed note")
    try:
        return parse_checkpoint(text + "\n")
    except NoteError as exc:
        raise VerificationError("bad checkpoint", str(exc)) from exc


@dataclass(frozen=True)
class LogVerification:
    report: VerifyReport
    checkpoint: Checkpoint | None


def verify_log_file(
    log: Path,
    trusted_key: Ed25519PublicKey,
    *,
    checkpoint_note: str | None = None,
    check_signatures: bool = True,
    progress: Callable[[int], None] | None = None,
    origin: str | None = None,
) -> LogVerification:
    """Verify ``log`` and, when given, that it contains what a signed checkpoint commits to.

    The checkpoint must be signed by a key of the log's key chain (the trusted key or a
    key it rotated to) under the checkpoint's origin as note key name.
    """
    claimed = read_checkpoint(checkpoint_note) if checkpoint_note is not None else None
    try:
        report = verify_records(
            complete_lines(log),
            trusted_key,
            checkpoint=(claimed.size, claimed.root_hash) if claimed is not None else None,
            check_signatures=check_signatures,
            progress=progress,
        )
    except VerificationError as exc:
        raise _explain_pinned_key(exc, log, trusted_key) from exc.__cause__
    if claimed is None or checkpoint_note is None:
        return LogVerification(report, None)
    keys = [trusted_key, *report.rotated_keys]
    checkpoint = open_signed_checkpoint(checkpoint_note, keys, origin=origin)
    return LogVerification(report, checkpoint)


def _explain_pinned_key(
    error: VerificationError, log: Path, trusted_key: Ed25519PublicKey
) -> VerificationError:
    """``error``, naming the record that rotated to the pinned key when there is one."""
    if (error.kind, error.sequence) != ("unknown key", 0):
        return error
    given = key_id(trusted_key)
    rotated_at = find_rotation_to(read_lines(log), given)
    if rotated_at is None:
        return error
    first = parse_record(next(read_lines(log)), 0).key_id  # record 0 parsed before its key
    return wrong_pinned_key(first, given, rotated_at)


def open_signed_checkpoint(
    note: str, keys: list[Ed25519PublicKey], *, origin: str | None = None
) -> Checkpoint:
    """A checkpoint whose note signature verifies with one of ``keys`` under its origin,
    which must be ``origin`` when given."""
    claimed = read_checkpoint(note)
    try:
        return open_checkpoint(note, [(claimed.origin, key) for key in keys], origin=origin)
    except NoteError as exc:
        raise VerificationError("bad checkpoint", str(exc)) from exc


def check_consistency(old: Checkpoint, new: Checkpoint, proof: list[bytes]) -> None:
    """Raise ``VerificationError`` unless ``proof`` shows ``new`` extends ``old``."""
    try:
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    except ProofError as exc:
        raise VerificationError("inconsistent checkpoints", str(exc)) from exc
