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

from gateway.audit.log import AuditLog, _Head, read_lines
from gateway.audit.records import GENESIS_PREV, AuditEvent, AuditRecord, parse_record
from gateway.audit.segments import SEGMENT_CLOSED

__all__ = ["ClosedSegment", "SegmentLog", "close_segment", "closed_segments"]


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


@dataclass
class SegmentLog(AuditLog):
    """An ``AuditLog`` whose chain starts at ``start_prev`` instead of the genesis hash,
    or, when its file is empty, after the last record of the newest closed segment."""

    start_prev: str = GENESIS_PREV

    def __post_init__(self) -> None:
        closed = closed_segments(self.path)
        last = _last_record(closed[-1]) if closed else None
        if last is None:
            self._head = _Head(prev=self.start_prev)
        else:
            self._head = _Head(next_seq=last.seq + 1, prev=last.hash)
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
