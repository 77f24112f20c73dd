"""A segment line checked on its own: parsed strictly and its device signature verified.

These are the costly checks of a segment record (about 60% of a merge is the Ed25519
verification) and they do not depend on the records before it, so a long segment can
have its lines checked in chunks on several cores (``check_lines``, a top-level function
that a worker process runs) while the checks that follow the chain (``seq``, ``prev``,
key, time, policy digest) stay in order in ``gateway.audit.segments.SegmentVerifier``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.keys import verify_signature
from gateway.audit.records import AuditRecord, parse_record
from gateway.errors import VerificationError

__all__ = ["LineCheck", "Malformed", "Wire", "check_line", "check_lines", "from_wire"]


@dataclass(frozen=True, slots=True)
class LineCheck:
    """The members of a well-formed line the chain checks need, its hash, and whether
    the device key's signature verifies."""

    seq: int
    prev: str
    key_id: str
    type: str
    time: str
    policy_digest: str | None
    resource: str | None
    hash: str
    signed: bool

    @classmethod
    def of(cls, record: AuditRecord, signed: bool) -> LineCheck:
        return cls(
            record.seq, record.prev, record.key_id, record.type, record.time,
            record.policy_digest, record.resource, record.hash, signed,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line that is not a record in canonical form, and why."""

    detail: str


def check_line(line: bytes, key: Ed25519PublicKey, position: int) -> tuple[AuditRecord, bool]:
    """Parse ``line`` (``VerificationError`` when malformed) and verify its signature."""
    record = parse_record(line, position)
    return record, verify_signature(key, record.signature, record.signing_input())


Wire = tuple[int, str, str, str, str, str | None, str | None, str, bool] | str
"""A ``LineCheck`` as plain values, or a ``Malformed`` line's detail: what a worker sends
back (plain tuples pickle several times faster than objects)."""


def check_lines(raw_key: bytes, lines: Sequence[bytes]) -> list[Wire]:
    """``check_line`` over ``lines`` with the raw Ed25519 public key ``raw_key``, in wire
    form (``from_wire`` reads it)."""
    key = Ed25519PublicKey.from_public_bytes(raw_key)
    checked: list[Wire] = []
    for line in lines:
        try:
            record, signed = check_line(line, key, 0)
        except VerificationError as exc:
            checked.append(str(exc).split(": ", 2)[-1])
            continue
        checked.append(
            (record.seq, record.prev, record.key_id, record.type, record.time,
             record.policy_digest, record.resource, record.hash, signed)
        )  # fmt: skip
    return checked


def from_wire(item: Wire) -> LineCheck | Malformed:
    return Malformed(item) if isinstance(item, str) else LineCheck(*item)
