"""Verifying an audit log with the public key alone, in one streaming pass.

For record ``i`` (0-based line number) the verifier checks, in this order, and stops at the
first failure, naming ``i`` and the kind of failure:

``malformed record``   the line is not a record in canonical form (a torn tail included)
``gap``                its ``seq`` is larger than ``i``: records are missing
``out of order``       its ``seq`` is smaller than ``i``: reordered, replayed or inserted
``broken chain``       its ``prev`` is not the hash of record ``i - 1``
``unknown key``        its ``key_id`` is not the key in force (the trusted key, or the
                       key the last ``audit.key_rotated`` record introduced)
``bad signature``      the signature does not verify
``checkpoint mismatch``  the Merkle root of records ``0 .. size-1`` differs from the
                       checkpoint's root
``shorter than checkpoint``  the log ends before the checkpoint's size

Memory stays constant: only the previous hash, the key in force and O(log n) subtree
hashes for the checkpoint root are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.keys import key_id, verify_signature
from gateway.audit.merkle import EMPTY_ROOT, leaf_hash, node_hash
from gateway.audit.records import GENESIS_PREV, KEY_ROTATED, AuditRecord, parse_record
from gateway.errors import VerificationError

__all__ = ["RootAccumulator", "VerifyReport", "verify_records"]


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
    try:
        raw = bytes.fromhex(str(record.payload["new_public_key"]))
        new_key = Ed25519PublicKey.from_public_bytes(raw)
    except (KeyError, ValueError) as exc:
        raise VerificationError(
            "malformed record", "key rotation without a valid new_public_key", record.seq
        ) from exc
    if record.payload.get("new_key_id") != key_id(new_key):
        raise VerificationError(
            "malformed record", "new_key_id does not match new_public_key", record.seq
        )
    return new_key


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
    checks; with ``check_signatures=False`` only structure, chain and checkpoint root are
    checked (trust then rests on the checkpoint's signature).
    """
    key, current_id = trusted_key, key_id(trusted_key)
    key_ids = [current_id]
    rotated: list[Ed25519PublicKey] = []
    prev = GENESIS_PREV
    accumulator = RootAccumulator()
    checkpoint_root: bytes | None = None
    count = 0
    for index, line in enumerate(lines):
        record = parse_record(line, index)
        if record.seq != index:
            kind = "gap" if record.seq > index else "out of order"
            raise VerificationError(kind, f"expected seq {index}, found {record.seq}", index)
        if record.prev != prev:
            raise VerificationError(
                "broken chain", f"prev expected {prev[:16]}..., found {record.prev[:16]}...", index
            )
        if record.key_id != current_id:
            raise VerificationError(
                "unknown key", f"signed by {record.key_id}, the key in force is {current_id}", index
            )
        if check_signatures and not verify_signature(key, record.signature, record.signing_input()):
            raise VerificationError("bad signature", f"key {current_id}", index)
        if record.type == KEY_ROTATED:
            key = _next_key(record)
            current_id = key_id(key)
            key_ids.append(current_id)
            rotated.append(key)
        prev = record.hash
        accumulator.add(leaf_hash(record.line))
        count = index + 1
        if checkpoint is not None and count == checkpoint[0]:
            checkpoint_root = accumulator.root()
            if checkpoint_root != checkpoint[1]:
                raise VerificationError(
                    "checkpoint mismatch",
                    f"root of the first {count} records differs from the checkpoint",
                    index,
                )
        if progress is not None:
            progress(count)
    if checkpoint is not None and count < checkpoint[0]:
        raise VerificationError(
            "shorter than checkpoint",
            f"the log has {count} records, the checkpoint commits to {checkpoint[0]}",
            count,
        )
    return VerifyReport(
        records=count,
        head_hash=prev,
        key_ids=tuple(key_ids),
        root=accumulator.root(),
        rotated_keys=tuple(rotated),
        checkpoint_size=checkpoint[0] if checkpoint is not None else None,
    )
