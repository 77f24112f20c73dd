"""Which kits the central log enrols and revokes, read from the log itself.

An ``offline.kit_prepared`` record enrols a kit: its id, technician, site, validity,
device key and policy digest; an ``offline.kit_revoked`` record revokes one; an
``offline.segment_merged`` record says which segment (by head hash) was merged.
"""

from __future__ import annotations

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
class KitRegistry:
    kits: dict[str, EnrolledKit] = field(default_factory=dict)
    revoked: dict[str, int] = field(default_factory=dict)  # kit id -> seq of the revocation
    merged: dict[str, int] = field(default_factory=dict)  # segment head hash -> seq
    merged_kits: dict[str, int] = field(default_factory=dict)  # kit id -> seq of its merge

    def see(self, record: AuditRecord) -> None:
        payload = record.payload
        if record.type == KIT_PREPARED:
            kit = EnrolledKit(record)
            self.kits[kit.kit_id] = kit
        elif record.type == KIT_REVOKED:
            self.revoked.setdefault(str(payload.get("kit_id")), record.seq)
        elif record.type == SEGMENT_MERGED:
            self.merged.setdefault(str(payload.get("head_hash")), record.seq)
            self.merged_kits.setdefault(str(payload.get("kit_id")), record.seq)

    @classmethod
    def read(cls, lines: Iterable[bytes]) -> KitRegistry:
        """The registry of a log's lines (unverified: ``gateway audit verify`` checks them)."""
        registry = cls()
        for index, line in enumerate(lines):
            if OFFLINE_MARK in line:
                registry.see(parse_record(line, index))
        return registry
