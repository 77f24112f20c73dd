"""Offline segments: verifying a segment, and the segments merged into the central log.

A field kit is enrolled by an ``offline.kit_prepared`` record (its device key, validity
and policy digest); the segment the laptop writes is an audit log signed by that device
key whose first ``prev`` is the hash of that very record.  For segment record ``i`` the
checks are, in this order (the first failure is reported, naming ``i``):

``malformed record``   not a record in canonical form
``gap`` / ``out of order``  its ``seq`` is not ``i``
``broken chain``       its ``prev`` is not the hash of record ``i - 1`` (record 0: of the
                       ``offline.kit_prepared`` record)
``unknown key``        not signed by the kit's device key, or a key rotation
``bad signature``      the device key's signature does not verify
``outside validity``   its time is before the kit was issued or not before it expired
``clock went backwards``  its time is earlier than record ``i - 1``'s
``policy mismatch``    it names a policy digest other than the kit's

Merged into the central log, a segment is an ``offline.segment_merged`` record (kit id,
record count, head hash, first and last times), then ``offline.record`` records, in order,
each carrying a batch of up to ``MERGE_BATCH`` original lines (``payload.lines``) from index
``payload.first``; other records may come between them.  Logs merged before batches hold one
``offline.record`` per segment record (``payload.line``, ``payload.index``, no ``lines``)
instead: both are read.  ``SegmentChecker`` follows these while the central log is
verified: every embedded line is checked as above, the merge must name an enrolled kit
not revoked before it, the lines' head hash must be the one merged, and a merge must be
complete by the end of the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.keys import key_id, verify_signature
from gateway.audit.records import KEY_ROTATED, AuditRecord, parse_record
from gateway.errors import VerificationError

__all__ = [
    "ACTION_QUEUED",
    "KIT_PREPARED",
    "KIT_REVOKED",
    "MERGE_BATCH",
    "OFFLINE_MARK",
    "OFFLINE_RECORD",
    "SEGMENT_MERGED",
    "SEGMENT_REFUSED",
    "EnrolledDevice",
    "SegmentChecker",
    "SegmentVerifier",
]

KIT_PREPARED = "offline.kit_prepared"
KIT_REVOKED = "offline.kit_revoked"
SEGMENT_MERGED = "offline.segment_merged"
SEGMENT_REFUSED = "offline.segment_refused"
OFFLINE_RECORD = "offline.record"  # up to MERGE_BATCH segment lines
MERGE_BATCH = 500
ACTION_QUEUED = "offline.action_queued"  # in a segment: a request replayed on sync
OFFLINE_MARK = b'"type":"offline.'
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)


@dataclass(frozen=True)
class EnrolledDevice:
    """What an ``offline.kit_prepared`` record enrols."""

    kit_id: str
    start_prev: str  # the enrolment record's hash
    key: Ed25519PublicKey
    key_id: str
    issued: str
    expires: str
    policy_digest: str

    @classmethod
    def from_record(cls, record: AuditRecord, position: int) -> EnrolledDevice:
        payload = record.payload
        spelled = payload.get("device_public_key")
        texts = [payload.get(name) for name in ("kit_id", "issued", "expires", "policy_digest")]
        if not (
            isinstance(spelled, str)
            and _HEX64.fullmatch(spelled)
            and all(isinstance(text, str) for text in texts)
        ):
            raise VerificationError(
                "malformed record", "kit enrolment without its device key or validity", position
            )
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(spelled))
        kit_id, issued, expires, digest = (str(text) for text in texts)
        return cls(kit_id, record.hash, key, key_id(key), issued, expires, digest)


@dataclass
class SegmentVerifier:
    """Checks one segment's records in order; ``add`` raises ``VerificationError`` whose
    ``sequence`` is the segment record's index."""

    device: EnrolledDevice
    prev: str = ""
    count: int = 0
    first_time: str | None = None
    last_time: str | None = None

    def __post_init__(self) -> None:
        self.prev = self.device.start_prev

    def add(self, line: bytes) -> AuditRecord:
        index, device = self.count, self.device
        record = parse_record(line, index)
        if record.seq != index:
            kind = "gap" if record.seq > index else "out of order"
            raise VerificationError(kind, f"expected seq {index}, found {record.seq}", index)
        if record.prev != self.prev:
            raise VerificationError(
                "broken chain",
                f"prev expected {self.prev[:16]}..., found {record.prev[:16]}...",
                index,
            )
        if record.key_id != device.key_id or record.type == KEY_ROTATED:
            raise VerificationError(
                "unknown key",
                f"signed by {record.key_id}, kit {device.kit_id}'s device key is {device.key_id}",
                index,
            )
        if not verify_signature(device.key, record.signature, record.signing_input()):
            raise VerificationError("bad signature", f"device key {device.key_id}", index)
        self._check_time(record, index)
        if record.policy_digest is not None and record.policy_digest != device.policy_digest:
            raise VerificationError(
                "policy mismatch",
                f"decided under {record.policy_digest}, the kit carries {device.policy_digest}",
                index,
            )
        self.prev, self.count = record.hash, index + 1
        self.first_time = self.first_time or record.time
        self.last_time = record.time
        return record

    def _check_time(self, record: AuditRecord, index: int) -> None:
        device = self.device
        if not device.issued <= record.time < device.expires:
            raise VerificationError(
                "outside validity",
                f"time {record.time} is outside the kit's {device.issued} .. {device.expires}",
                index,
            )
        if self.last_time is not None and record.time < self.last_time:
            raise VerificationError(
                "clock went backwards", f"{record.time} is before {self.last_time}", index
            )

    def summary(self) -> dict[str, Any]:
        """What an ``offline.segment_merged`` record carries."""
        return {
            "kit_id": self.device.kit_id,
            "device_key_id": self.device.key_id,
            "start_prev": self.device.start_prev,
            "records": self.count,
            "head_hash": self.prev,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "policy_digest": self.device.policy_digest,
        }


def _batch(payload: dict[str, Any]) -> list[str] | None:
    """The lines an ``offline.record`` carries: ``lines`` (a batch), else the one ``line`` of
    a log merged before batches; ``None`` when malformed."""
    if "lines" not in payload:
        line = payload.get("line")
        return [line] if isinstance(line, str) else None
    lines = payload["lines"]
    if (
        isinstance(lines, list)
        and 0 < len(lines) <= MERGE_BATCH
        and all(isinstance(line, str) for line in lines)
    ):
        return lines
    return None


@dataclass
class _Merge:
    verifier: SegmentVerifier
    expected: int
    head_hash: str
    opened_at: int


@dataclass
class SegmentChecker:
    """Follows kits and merged segments while the central log is verified."""

    devices: dict[str, EnrolledDevice] = field(default_factory=dict)
    revoked: dict[str, int] = field(default_factory=dict)
    open: dict[str, _Merge] = field(default_factory=dict)
    merged: int = 0  # segment records checked

    def see(self, record: AuditRecord, position: int) -> None:
        kind = record.type
        if kind == KIT_PREPARED:
            device = EnrolledDevice.from_record(record, position)
            self.devices[device.kit_id] = device
        elif kind == KIT_REVOKED:
            self.revoked.setdefault(str(record.payload.get("kit_id")), position)
        elif kind == SEGMENT_MERGED:
            self._open(record, position)
        elif kind == OFFLINE_RECORD:
            self._embedded(record, position, _batch(record.payload))

    def _open(self, record: AuditRecord, position: int) -> None:
        payload = record.payload
        kit_id = str(payload.get("kit_id"))
        device = self.devices.get(kit_id)
        if device is None:
            raise VerificationError("unknown kit", f"no kit {kit_id} is enrolled", position)
        if kit_id in self.revoked:
            raise VerificationError(
                "revoked kit", f"kit {kit_id} was revoked by record {self.revoked[kit_id]}",
                position,
            )  # fmt: skip
        expected, head = payload.get("records"), payload.get("head_hash")
        if kit_id in self.open or type(expected) is not int or not isinstance(head, str):
            raise VerificationError("malformed record", "a merge without its checkpoint", position)
        self.open[kit_id] = _Merge(SegmentVerifier(device), expected, head, position)
        self._close_if_done(kit_id, position)

    def _embedded(self, record: AuditRecord, position: int, lines: list[str] | None) -> None:
        kit_id = str(record.payload.get("kit_id"))
        merge = self.open.get(kit_id)
        if merge is None or lines is None or merge.verifier.count + len(lines) > merge.expected:
            raise VerificationError(
                "malformed record", f"segment records outside a merge of kit {kit_id}", position
            )
        first = record.payload.get("first" if "lines" in record.payload else "index")
        if type(first) is not int or first != merge.verifier.count:
            raise VerificationError(
                "malformed record",
                f"kit {kit_id}: segment records from {first}, expected {merge.verifier.count}",
                position,
            )
        for line in lines:
            try:
                merge.verifier.add(line.encode("utf-8"))
            except VerificationError as exc:
                raise VerificationError(
                    "bad segment", f"kit {kit_id}, segment {exc}", position
                ) from exc
        self.merged += len(lines)
        self._close_if_done(kit_id, position)

    def _close_if_done(self, kit_id: str, position: int) -> None:
        merge = self.open[kit_id]
        if merge.verifier.count < merge.expected:
            return
        if merge.verifier.prev != merge.head_hash:
            raise VerificationError(
                "bad segment",
                f"kit {kit_id}: the segment's head is {merge.verifier.prev[:16]}..., the merge "
                f"record {merge.opened_at} says {merge.head_hash[:16]}...",
                position,
            )
        del self.open[kit_id]

    def finish(self, count: int) -> None:
        for kit_id, merge in self.open.items():
            raise VerificationError(
                "incomplete merge",
                f"kit {kit_id}: record {merge.opened_at} merges {merge.expected} segment "
                f"records, the log holds {merge.verifier.count}",
                count,
            )
