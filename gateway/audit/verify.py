"""Verifying an audit log with the public key alone, in one streaming pass.

For record ``i`` (0-based line number) the verifier checks, in this order, and stops at the
first failure, naming ``i`` and the kind of failure:

``malformed record``   the line is not a record in canonical form (a torn tail included)
``gap``                its ``seq`` is larger than ``i``: records are missing
``out of order``       its ``seq`` is smaller than ``i``: reordered, replayed or inserted
``broken chain``       its ``prev`` is not the hash of record ``i - 1``
``unknown key``        its ``key_id`` is not the key in force (the trusted key, or the
                       key the last ``audit.key_rotated`` record introduced); at record 0
                       the trusted key is not the log's first key, which auditors pin
``bad signature``      the signature does not verify
``checkpoint mismatch``  the Merkle root of records ``0 .. size-1`` differs from the
                       checkpoint's root
``shorter than checkpoint``  the log ends before the checkpoint's size

Offline segments merged into the log (``offline.*`` records) are checked on the way by
``gateway.audit.segments.SegmentChecker`` (``bad segment``, ``unknown kit``, ``revoked
kit``, ``incomplete merge``).

Memory stays constant: only the previous hash, the key in force and O(log n) subtree
hashes for the checkpoint root are kept.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.keys import key_id, verify_signature
from gateway.audit.merkle import EMPTY_ROOT, leaf_hash, node_hash
from gateway.audit.records import GENESIS_PREV, KEY_ROTATED, AuditRecord, parse_record
from gateway.audit.segments import OFFLINE_MARK, SegmentChecker
from gateway.errors import VerificationError

__all__ = [
    "RootAccumulator",
    "VerifyReport",
    "find_rotation_to",
    "verify_records",
    "wrong_pinned_key",
]

# Every canonical record starts with its first key and ends with its last one.
_RECORD_START = b'{"action":'
_RECORD_END = b',"v":1}'
_ROTATION_MARK = b',"type":"' + KEY_ROTATED.encode() + b'"'
# The whole string, ASCII only: ``bytes.fromhex`` alone would skip spaces and newlines.
_KEY_HEX = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)


class RootAccumulator:
    """The RFC 6962 root of a growing list of leaves, in O(log n) memory."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (subtree size, hash), sizes decreasing
        self.size = 0

    def add(self, leaf: bytes) -> None:
        size, digest = 1, leaf
        while self._stack and self._stack[-1][0] == size:
            left_size, left = self._stack.pop()
            size, digest = left_size + size, node_hash(left, digest)
        self._stack.append((size, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        digest = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            digest = node_hash(left, digest)
        return digest


@dataclass(frozen=True)
class VerifyReport:
    """What a successful verification established."""

    records: int
    head_hash: str
    key_ids: tuple[str, ...]
    root: bytes = field(repr=False)
    rotated_keys: tuple[Ed25519PublicKey, ...] = field(default=(), repr=False)
    checkpoint_size: int | None = None


def _next_key(record: AuditRecord) -> Ed25519PublicKey:
    spelled = record.payload.get("new_public_key")
    try:
        if not isinstance(spelled, str) or _KEY_HEX.fullmatch(spelled) is None:
            raise ValueError("new_public_key is not 64 hex digits")
        new_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(spelled))
    except ValueError as exc:
        raise VerificationError(
            "malformed record", "key rotation without a valid new_public_key", record.seq
        ) from exc
    if record.payload.get("new_key_id") != key_id(new_key):
        raise VerificationError(
            "malformed record", "new_key_id does not match new_public_key", record.seq
        )
    return new_key


def wrong_pinned_key(
    first_key_id: str, given_key_id: str, rotated_at: int | None = None
) -> VerificationError:
    """The error for a log verified from a key that is not its first key."""
    given = (
        given_key_id
        if rotated_at is None
        else (f"{given_key_id}, which record {rotated_at} rotated to")
    )
    return VerificationError(
        "unknown key",
        f"this log's first key is {first_key_id}; the key given is {given}; "
        "pin the log's first key, verification follows its rotations",
        0,
    )


def _check_link(record: AuditRecord, index: int, prev: str) -> None:
    if record.seq != index:
        kind = "gap" if record.seq > index else "out of order"
        raise VerificationError(kind, f"expected seq {index}, found {record.seq}", index)
    if record.prev != prev:
        raise VerificationError(
            "broken chain", f"prev expected {prev[:16]}..., found {record.prev[:16]}...", index
        )


def _check_signature(
    record: AuditRecord, key: Ed25519PublicKey, current_id: str, index: int
) -> None:
    if record.key_id != current_id:
        raise VerificationError(
            "unknown key", f"signed by {record.key_id}, the key in force is {current_id}", index
        )
    if not verify_signature(key, record.signature, record.signing_input()):
        raise VerificationError("bad signature", f"key {current_id}", index)


def _link_fields(line: bytes) -> tuple[int, str] | None:
    """``seq`` and ``prev`` read straight from a canonical line, or ``None``.

    In canonical form the top-level ``"seq"`` and ``"prev"`` members are the last ones of
    those names (the payload, which may reuse the names, sorts before them) and quotes in
    strings are escaped, so a search from the end finds them.
    """
    seq_at = line.rfind(b',"seq":')
    prev_at = line.rfind(b',"prev":"')
    if seq_at < 0 or prev_at < 0:
        return None
    digits = line[seq_at + 7 : line.find(b",", seq_at + 7)]
    if not digits.isdigit():
        return None
    return int(digits), line[prev_at + 9 : prev_at + 73].decode("ascii", "replace")


class _Checkpoint:
    """Compares the Merkle root of the first ``size`` records with a checkpoint's root."""

    def __init__(self, checkpoint: tuple[int, bytes] | None) -> None:
        self.expected = checkpoint
        self.accumulator = RootAccumulator()
        if checkpoint is not None and checkpoint[0] == 0 and checkpoint[1] != EMPTY_ROOT:
            raise VerificationError(
                "checkpoint mismatch", "a checkpoint of size 0 must have the empty root", 0
            )

    def add(self, line: bytes, index: int) -> None:
        self.accumulator.add(leaf_hash(line))
        if (
            self.expected is not None
            and index + 1 == self.expected[0]
            and self.accumulator.root() != self.expected[1]
        ):
            raise VerificationError(
                "checkpoint mismatch",
                f"root of the first {index + 1} records differs from the checkpoint",
                index,
            )

    def finish(self, count: int) -> None:
        if self.expected is not None and count < self.expected[0]:
            raise VerificationError(
                "shorter than checkpoint",
                f"the log has {count} records, the checkpoint commits to {self.expected[0]}",
                count,
            )


class _KeyChain:
    """The key in force, from the trusted key through every rotation record."""

    def __init__(self, trusted_key: Ed25519PublicKey) -> None:
        self.key = trusted_key
        self.key_ids = [key_id(trusted_key)]
        self.rotated: list[Ed25519PublicKey] = []

    def check(self, record: AuditRecord, index: int) -> None:
        if index == 0 and record.key_id != self.key_ids[0]:
            raise wrong_pinned_key(record.key_id, self.key_ids[0])
        _check_signature(record, self.key, self.key_ids[-1], index)
        if record.type == KEY_ROTATED:
            self.key = _next_key(record)
            self.key_ids.append(key_id(self.key))
            self.rotated.append(self.key)


def _stream(
    lines: Iterable[bytes],
    checkpoint: tuple[int, bytes] | None,
    progress: Callable[[int], None] | None,
    check_line: Callable[[bytes, int, str], str],
    keys: _KeyChain,
) -> VerifyReport:
    """Run ``check_line`` (which returns the line's record hash) over every line, with
    the checkpoint and progress bookkeeping both modes share."""
    prev = GENESIS_PREV
    tree = _Checkpoint(checkpoint)
    count = 0
    for index, line in enumerate(lines):
        prev = check_line(line, index, prev)
        tree.add(line, index)
        count = index + 1
        if progress is not None:
            progress(count)
    tree.finish(count)
    return VerifyReport(
        records=count,
        head_hash=prev,
        key_ids=tuple(keys.key_ids),
        root=tree.accumulator.root(),
        rotated_keys=tuple(keys.rotated),
        checkpoint_size=checkpoint[0] if checkpoint is not None else None,
    )


def verify_records(
    lines: Iterable[bytes],
    trusted_key: Ed25519PublicKey,
    *,
    checkpoint: tuple[int, bytes] | None = None,
    check_signatures: bool = True,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Verify every line; raise ``VerificationError`` at the first bad one.

    ``checkpoint`` is ``(size, root hash)`` from a checkpoint whose signature the caller
    checks.  With ``check_signatures=False`` (chain-only) a record is parsed only when its
    outline, ``seq`` or ``prev`` is wrong, and only key rotations are signature-checked:
    the chain and the checkpoint root are what is verified, so trust rests on the
    checkpoint's signature, and only up to its size.
    """
    keys = _KeyChain(trusted_key)
    offline = SegmentChecker()  # merged offline segments (gateway.audit.segments)

    def full(line: bytes, index: int, prev: str) -> str:
        record = parse_record(line, index)
        _check_link(record, index, prev)
        keys.check(record, index)
        if record.type.startswith("offline."):
            offline.see(record, index)
        return record.hash

    def chain_only(line: bytes, index: int, prev: str) -> str:
        if not (line.startswith(_RECORD_START) and line.endswith(_RECORD_END)):
            parse_record(line, index)  # a torn or foreign line: say exactly what is wrong
        if _link_fields(line) != (index, prev):
            _check_link(parse_record(line, index), index, prev)
        if line.rfind(_ROTATION_MARK) > 0:
            # Rotations are few: check them fully, so the key chain rests on signatures
            # and a checkpoint signed by a rotated key can be trusted.
            record = parse_record(line, index)
            if record.type == KEY_ROTATED:
                keys.check(record, index)
        if OFFLINE_MARK in line:
            record = parse_record(line, index)
            if record.type.startswith("offline."):
                offline.see(record, index)
        return hashlib.sha256(line).hexdigest()

    report = _stream(lines, checkpoint, progress, full if check_signatures else chain_only, keys)
    offline.finish(report.records)
    return report


def find_rotation_to(lines: Iterable[bytes], wanted_key_id: str) -> int | None:
    """The sequence number of the first rotation record that names ``wanted_key_id`` as
    the new key, or ``None``; unverified, to explain why a pinned key does not verify."""
    for index, line in enumerate(lines):
        if line.rfind(_ROTATION_MARK) < 0:
            continue
        try:
            record = parse_record(line, index)
        except VerificationError:
            continue
        if record.type == KEY_ROTATED and record.payload.get("new_key_id") == wanted_key_id:
            return index
    return None
