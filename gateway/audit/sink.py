"""The one shape of "something that appends an audit record" (``AuditLog.append`` fits),
and the rule every change follows with it: the record first, then the change.

It lives at the bottom of the import graph so that every service that writes records can
take one without importing anything above the audit package.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.audit.records import AuditEvent

__all__ = ["AuditSink", "record_first"]

AuditSink = Callable[[AuditEvent], object]


def record_first(audit: AuditSink | None, event: AuditEvent) -> None:
    """Append ``event``; an append that fails raises ``AuditWriteError`` so the change
    that follows never happens.  Without an audit log (an unsafe configuration that
    warns on its own) nothing is written."""
    if audit is not None:
        audit(event)
