"""Which kits the central log enrols and revokes, read from the log itself.

An ``offline.kit_prepared`` record enrols a kit: its id, technician, site, validity,
device key and policy digest; an ``offline.kit_revoked`` record revokes one; an
``offline.segment_merged`` record opens the merge of a kit's next segment and the
``offline.record`` batches after it carry its lines: the registry keeps, per kit, where
its merged chain ends and the hash of every merged line (to recognise a segment synced
again, a fork or a gap).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from gateway.audit.records import AuditRecord, parse_record
from gateway.audit.segments import (
    ACTION_QUEUED,
    KIT_PREPARED,
    KIT_REVOKED,
    OFFLINE_MARK,
    OFFLINE_RECORD,
    SEGMENT_MERGED,
    SEGMENT_REFUSED,
    KitChain,
)

__all__ = [
    "ACTION_QUEUED",
    "KIT_PREPARED",
    "KIT_REVOKED",
    "OFFLINE_RECORD",
    "SEGMENT_MERGED",
    "SEGMENT_REFUSED",
    "EnrolledKit",
    "KitRegistry",
    "MergedChain",
]


@dataclass(frozen=True)
class EnrolledKit:
    """A kit as its ``offline.kit_prepared`` record enrols it."""

    record: AuditRecord

    @property
    def seq(self) -> int:
        return self.record.seq

    @property
    def hash(self) -> str:
        return self.record.hash

    @property
    def kit_id(self) -> str:
        return str(self.record.payload.get("kit_id"))


@dataclass
class MergedChain:
    """A kit's merged records: their line hashes in chain order, and for each merge the
    central record that opened it, its number and where it ended."""

    hashes: list[str] = field(default_factory=list)
    merges: list[tuple[int, int, int]] = field(default_factory=list)  # (seq, segment, end)
    last_time: str | None = None

    def merge_of(self, index: int) -> tuple[int, int]:
        """The central record that merged chain record ``index``, and the merge's number."""
        found = ((seq, number) for seq, number, end in self.merges if index < end)
        return next(found, self.merges[-1][:2] if self.merges else (-1, 0))

    def chain(self, start_prev: str) -> KitChain:
        head = self.hashes[-1] if self.hashes else start_prev
        return KitChain(len(self.hashes), head, self.last_time, len(self.merges))


@dataclass
class KitRegistry:
    kits: dict[str, EnrolledKit] = field(default_factory=dict)
    revoked: dict[str, int] = field(default_factory=dict)  # kit id -> seq of the revocation
    merged: dict[str, MergedChain] = field(default_factory=dict)  # kit id -> its merged records
    by_key: dict[str, str] = field(default_factory=dict)  # device key id -> kit id

    def see(self, record: AuditRecord) -> None:
        payload = record.payload
        kit_id = str(payload.get("kit_id"))
        if record.type == KIT_PREPARED:
            kit = EnrolledKit(record)
            self.kits[kit.kit_id] = kit
            self.by_key[str(payload.get("device_key_id"))] = kit.kit_id
        elif record.type == KIT_REVOKED:
            self.revoked.setdefault(kit_id, record.seq)
        elif record.type == SEGMENT_MERGED:
            chain = self.merged.setdefault(kit_id, MergedChain())
            count, last = payload.get("records"), payload.get("last_time")
            end = len(chain.hashes) + (count if type(count) is int else 0)
            chain.merges.append((record.seq, len(chain.merges) + 1, end))
            chain.last_time = last if isinstance(last, str) else chain.last_time
        elif record.type == OFFLINE_RECORD:
            lines = payload.get("lines")
            lines = lines if isinstance(lines, list) else [payload.get("line")]
            hashes = self.merged.setdefault(kit_id, MergedChain()).hashes
            hashes += [hashlib.sha256(str(line).encode()).hexdigest() for line in lines]

    def chain_of(self, kit: EnrolledKit) -> MergedChain:
        return self.merged.get(kit.kit_id) or MergedChain()

    def kit_after(self, prev: str) -> EnrolledKit | None:
        """The kit whose enrolment, or one of whose merged records, has hash ``prev``."""
        for kit in self.kits.values():
            if kit.hash == prev or prev in self.chain_of(kit).hashes:
                return kit
        return None

    @classmethod
    def read(cls, lines: Iterable[bytes]) -> KitRegistry:
        """The registry of a log's lines (unverified: ``gateway audit verify`` checks them)."""
        registry = cls()
        for index, line in enumerate(lines):
            if OFFLINE_MARK in line:
                registry.see(parse_record(line, index))
        return registry
