"""The local audit segment: an audit log on the technician's laptop, signed by the kit's
device key, whose first record's ``prev`` is the central checkpoint the kit carries.

Records have the central log's format (``gateway.audit.records``).  A kit's records form
one chain across its segments: ``seq`` starts at 0 in the first segment and counts on in
the next ones, and each segment's first ``prev`` is the hash of the record before it.
``close_segment`` ends the current file (``<kit>.segment.log``) with an
``offline.segment_closed`` record and moves it to ``<kit>.segment-N.log`` (to be synced);
the next ``SegmentLog`` on the current path, finding it empty, continues the chain from the
last record of the newest closed segment.  A segment has no key rotations: one device key
signs it all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gateway.audit.batching import Head
from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog, read_lines
from gateway.audit.records import GENESIS_PREV, AuditEvent, AuditRecord, parse_record
from gateway.audit.segments import SEGMENT_CLOSED
from gateway.clock import Clock, utcnow

__all__ = ["ClosedSegment", "SegmentLog", "SegmentStart", "close_segment", "closed_segments"]


def closed_segments(path: Path) -> list[Path]:
    """The closed segments of the current segment ``path``, oldest first."""
    pattern = re.compile(re.escape(path.stem) + r"-([1-9][0-9]{0,5})" + re.escape(path.suffix))
    found = []
    for candidate in path.parent.glob(f"{path.stem}-*{path.suffix}"):
        match = pattern.fullmatch(candidate.name)
        if match is not None:
            found.append((int(match.group(1)), candidate))
    return [candidate for _, candidate in sorted(found)]


def _last_record(path: Path) -> AuditRecord | None:
    last = None
    for last in read_lines(path):  # noqa: B007 - the last line is the one wanted
        pass
    return None if last is None else parse_record(last, -1)


@dataclass(frozen=True)
class SegmentStart:
    """Where a segment's chain starts: the ``seq`` of its first record and the hash its
    first record's ``prev`` names."""

    seq: int = 0
    prev: str = GENESIS_PREV


@dataclass
class SegmentLog(AuditLog):
    """An ``AuditLog`` whose chain starts at ``start_seq`` and ``start_prev`` (the kit's
    checkpoint) instead of the genesis hash or, when its file is empty and a closed segment
    precedes it, after the last record of the newest closed segment; ``start`` says where
    it started.  A file that already holds records goes on from its last one."""

    start_prev: str = GENESIS_PREV
    start_seq: int = 0

    @classmethod
    def starting_at(
        cls, path: Path, signer: Signer, start: SegmentStart, clock: Clock = utcnow
    ) -> SegmentLog:
        return cls(path, signer, clock, start_prev=start.prev, start_seq=start.seq)

    @property
    def start(self) -> SegmentStart:
        return self._start

    def __post_init__(self) -> None:
        closed = closed_segments(self.path)
        last = _last_record(closed[-1]) if closed else None
        if last is None:
            self._start = SegmentStart(self.start_seq, self.start_prev)
        else:
            self._start = SegmentStart(last.seq + 1, last.hash)
        self._head = Head(next_seq=self._start.seq, prev=self._start.prev)  # an empty file's
        super().__post_init__()


@dataclass(frozen=True)
class ClosedSegment:
    path: Path
    records: int
    first: int  # the seq of its first record
    head_hash: str


def close_segment(log: SegmentLog, actor: str | None = None) -> ClosedSegment:
    """Append ``offline.segment_closed`` to ``log``, close it and move its file to the next
    ``<stem>-N<suffix>`` name; work goes on in a new file at the same path."""
    path = log.path
    record = log.append(AuditEvent(type=SEGMENT_CLOSED, actor=actor))
    log.close()
    first = parse_record(next(read_lines(path)), 0).seq
    closed = closed_segments(path)
    number = 1 + (int(closed[-1].stem.rsplit("-", 1)[1]) if closed else 0)
    target = path.with_name(f"{path.stem}-{number}{path.suffix}")
    path.rename(target)
    return ClosedSegment(target, record.seq - first + 1, first, record.hash)
