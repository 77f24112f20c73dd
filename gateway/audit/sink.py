"""The one shape of "something that appends an audit record" (``AuditLog.append`` fits).

It lives at the bottom of the import graph so that every service that writes records can
take one without importing anything above the audit package.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.audit.records import AuditEvent

__all__ = ["AuditSink"]

AuditSink = Callable[[AuditEvent], object]
