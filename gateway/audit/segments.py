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

A kit's records form one chain, whatever files the laptop wrote them in: ``seq`` counts on
across segments and each segment's first ``prev`` is the hash of the kit's record before
it. Merged into the central log, a segment is an ``offline.segment_merged`` record (kit id,
its number among the kit's merges, the chain index of its first record, the hash it starts
from, record count, head hash, first and last times), then ``offline.record`` records, in
order, each carrying a batch of up to ``MERGE_BATCH`` original lines (``payload.lines``)
from chain index ``payload.first``; other records may come between them. Logs merged before
batches hold one ``offline.record`` per segment record (``payload.line``,
``payload.index``, no ``lines``) instead: both are read. ``SegmentChecker`` follows these
while the central log is verified: every embedded line is checked as above, the merge must
name an enrolled kit not revoked before it and continue the kit's chain where its last
merge ended (``bad segment``: a gap or a fork), the lines' head hash must be the one
merged, and a merge must be complete by the end of the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.keys import key_id
from gateway.audit.records import KEY_ROTATED, AuditRecord
from gateway.audit.segment_lines import LineCheck, Malformed, check_line
from gateway.errors import VerificationError

__all__ = [
    "ACTION_QUEUED",
    "KIT_PREPARED",
    "KIT_REVOKED",
    "MERGE_BATCH",
    "OFFLINE_MARK",
    "OFFLINE_RECORD",
    "REPLAYED",
    "SEGMENT_CLOSED",
    "SEGMENT_MERGED",
    "SEGMENT_REFUSED",
    "EnrolledDevice",
    "KitChain",
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
SEGMENT_CLOSED = "offline.segment_closed"  # in a segment: its last record, the next file goes on
REPLAYED = "offline.replayed"  # central: a queued action replayed after its merge
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


@dataclass(frozen=True)
class KitChain:
    """Where a kit's merged records end: how many (the next ``seq``), the last one's hash
    (the enrolment hash before any) and time, and how many merges brought them."""

    count: int = 0
    head: str = ""
    last_time: str | None = None
    segments: int = 0


@dataclass
class SegmentVerifier:
    """Checks a segment's records in order, from where ``chain`` (the kit's merged
    records) ends; ``add`` raises ``VerificationError`` whose ``sequence`` is the record's
    index in the kit's chain."""

    device: EnrolledDevice
    chain: KitChain | None = None
    prev: str = ""
    count: int = 0
    first_time: str | None = None
    last_time: str | None = None

    def __post_init__(self) -> None:
        chain = self.chain or KitChain(head=self.device.start_prev)
        self.chain = chain
        self.prev, self.count = chain.head, chain.count
        self._before = chain.last_time  # the clock may not go back across segments either

    def add(self, line: bytes) -> AuditRecord:
        record, signed = check_line(line, self.device.key, self.count)
        self.add_checked(LineCheck.of(record, signed))
        return record

    def add_checked(self, line: LineCheck | Malformed) -> None:
        """Check the next record, given its line checked on its own (``check_lines``)."""
        index, device = self.count, self.device
        if isinstance(line, Malformed):
            raise VerificationError("malformed record", line.detail, index)
        if line.seq != index:
            kind = "gap" if line.seq > index else "out of order"
            raise VerificationError(kind, f"expected seq {index}, found {line.seq}", index)
        if line.prev != self.prev:
            raise VerificationError(
                "broken chain",
                f"prev expected {self.prev[:16]}..., found {line.prev[:16]}...",
                index,
            )
        if line.key_id != device.key_id or line.type == KEY_ROTATED:
            raise VerificationError(
                "unknown key",
                f"signed by {line.key_id}, kit {device.kit_id}'s device key is {device.key_id}",
                index,
            )
        if not line.signed:
            raise VerificationError("bad signature", f"device key {device.key_id}", index)
        self._check_time(line, index)
        if line.policy_digest is not None and line.policy_digest != device.policy_digest:
            raise VerificationError(
                "policy mismatch",
                f"decided under {line.policy_digest}, the kit carries {device.policy_digest}",
                index,
            )
        self.prev, self.count = line.hash, index + 1
        self.first_time = self.first_time or line.time
        self.last_time = self._before = line.time

    def _check_time(self, record: LineCheck, index: int) -> None:
        device = self.device
        if not device.issued <= record.time < device.expires:
            raise VerificationError(
                "outside validity",
                f"time {record.time} is outside the kit's {device.issued} .. {device.expires}",
                index,
            )
        if self._before is not None and record.time < self._before:
            raise VerificationError(
                "clock went backwards", f"{record.time} is before {self._before}", index
            )

    def ended(self) -> KitChain:
        """The kit's chain with this segment merged."""
        chain = self.chain or KitChain()
        return KitChain(self.count, self.prev, self._before, chain.segments + 1)

    def summary(self) -> dict[str, Any]:
        """What an ``offline.segment_merged`` record carries."""
        chain = self.chain or KitChain()
        return {
            "kit_id": self.device.kit_id,
            "device_key_id": self.device.key_id,
            "segment": chain.segments + 1,
            "first": chain.count,
            "start_prev": chain.head,
            "records": self.count - chain.count,
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
    expected: int  # the chain index the merge ends at
    head_hash: str
    opened_at: int


@dataclass
class SegmentChecker:
    """Follows kits and merged segments while the central log is verified."""

    devices: dict[str, EnrolledDevice] = field(default_factory=dict)
    revoked: dict[str, int] = field(default_factory=dict)
    open: dict[str, _Merge] = field(default_factory=dict)
    chains: dict[str, KitChain] = field(default_factory=dict)  # kit id -> its merged records
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
        if (
            kit_id in self.open
            or type(expected) is not int
            or expected < 0
            or not isinstance(head, str)
        ):
            raise VerificationError("malformed record", "a merge without its checkpoint", position)
        chain = self.chains.get(kit_id) or KitChain(head=device.start_prev)
        self._check_continues(kit_id, chain, payload, position)
        verifier = SegmentVerifier(device, chain)
        self.open[kit_id] = _Merge(verifier, chain.count + expected, head, position)
        self._close_if_done(kit_id, position)

    @staticmethod
    def _check_continues(
        kit_id: str, chain: KitChain, payload: dict[str, Any], position: int
    ) -> None:
        """A merge continues the kit's chain where its last merge ended: ``first``,
        ``start_prev`` and ``segment`` (absent from logs merged before several segments
        per kit: one merge from the enrolment) must say so."""
        first = payload.get("first", 0)
        start = payload.get("start_prev", chain.head)
        number = payload.get("segment", chain.segments + 1)
        if type(first) is not int or type(number) is not int or not isinstance(start, str):
            raise VerificationError("malformed record", "a merge without its checkpoint", position)
        if first != chain.count or start != chain.head or number != chain.segments + 1:
            kind = "a gap" if first > chain.count else "a fork"
            raise VerificationError(
                "bad segment",
                f"kit {kit_id}: merge {number} starts at record {first} from "
                f"{start[:16]}..., the kit's merged records end at {chain.count} with "
                f"{chain.head[:16]}... after {chain.segments} merges ({kind})",
                position,
            )

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
        self.chains[kit_id] = merge.verifier.ended()
        del self.open[kit_id]

    def finish(self, count: int) -> None:
        for kit_id, merge in self.open.items():
            raise VerificationError(
                "incomplete merge",
                f"kit {kit_id}: record {merge.opened_at} merges segment records up to "
                f"{merge.expected}, the log holds them up to {merge.verifier.count}",
                count,
            )
