"""Errors of field kits and offline segments.

GatewayError
└── OfflineError        a field kit or an offline segment was refused
    ├── KitError        the kit is malformed, tampered, foreign, expired or not yet valid
    ├── SegmentError    a segment does not verify (names the first bad record)
    └── MergeTurnError  the turn to merge a segment cannot be taken (the database)
"""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = ["KitError", "MergeTurnError", "OfflineError", "SegmentError"]


class OfflineError(GatewayError):
    """A field kit or an offline segment was refused."""

    exit_code = ExitCode.INVALID_INPUT


class KitError(OfflineError):
    """The kit cannot be used: ``kind`` is malformed, tampered, foreign, expired,
    not yet valid, revoked or unknown."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"field kit refused: {kind}: {detail}")
        self.kind = kind
        self.detail = detail


class SegmentError(OfflineError):
    """A segment does not verify; ``record`` is the 0-based line of the first bad record
    (``None`` when the segment as a whole is refused)."""

    def __init__(self, kind: str, detail: str, record: int | None = None) -> None:
        where = "segment" if record is None else f"segment record {record}"
        super().__init__(f"{where}: {kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.record = record


class MergeTurnError(OfflineError):
    """The turn to merge a segment (``gateway.offline.merge_lock``) cannot be taken: the
    shared database cannot be written; nothing was merged."""

    exit_code = ExitCode.UNAVAILABLE
