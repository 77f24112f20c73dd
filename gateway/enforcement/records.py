"""Audit first: the record of a change is appended before the change is made."""

from __future__ import annotations

from gateway.audit.records import AuditEvent
from gateway.audit.sink import AuditSink

__all__ = ["AuditSink", "record_first"]


def record_first(audit: AuditSink | None, event: AuditEvent) -> None:
    """Append ``event``; an append that fails raises ``AuditWriteError`` so the change
    that follows never happens.  Without an audit log (an unsafe configuration that
    warns on its own) nothing is written."""
    if audit is not None:
        audit(event)
