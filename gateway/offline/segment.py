"""The local audit segment: an audit log on the technician's laptop, signed by the kit's
device key, whose first record's ``prev`` is the central checkpoint the kit carries.

Records have the central log's format (``gateway.audit.records``); sequence numbers start
at 0 in each segment.  A segment has no key rotations: one device key signs it all.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.audit.log import AuditLog, _Head
from gateway.audit.records import GENESIS_PREV

__all__ = ["SegmentLog"]


@dataclass
class SegmentLog(AuditLog):
    """An ``AuditLog`` whose chain starts at ``start_prev`` instead of the genesis hash."""

    start_prev: str = GENESIS_PREV

    def __post_init__(self) -> None:
        self._head = _Head(prev=self.start_prev)
        super().__post_init__()
