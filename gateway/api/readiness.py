"""Whether the gateway can do its work now: cheap checks for ``GET /readyz``.

* **audit**: auditing is on, the log file is still where the gateway writes it, is a
  regular file, can be opened for appending, ends with a complete line and its last record
  reads (what the next append needs); a missing, moved, torn or garbled log fails.  On
  PostgreSQL, the audit table can be read and its last record reads.  When
  the last append failed (a full disk, say), the check tries one: an
  ``audit.appends_resumed`` record naming the failure.  Until it is written the gateway is
  not ready; the record tells an auditor that appends failed before it.
* **directory**: no identity source is cut off by its circuit breaker (it failed
  ``failure_threshold`` times in a row and is not being called).
* **storage**: with ``[storage] backend = "postgresql"``, the shared database answers
  (one round trip on a pooled connection, waiting a bounded time for one): while it is
  unreachable no store can serve, whatever the other checks say.
* **policy**: the bundle in force (a gateway cannot start without one; a refused reload
  keeps the last good bundle, so this names the digest that decides).

No check calls an outside system: they read local state (and the gateway's own database)
only, and write that one record.
"""

from __future__ import annotations

import threading

from gateway.audit.records import AuditEvent
from gateway.audit.store import AuditStore
from gateway.audit.unsafe import UNSAFE_SETTING
from gateway.enforcement.point import EnforcementPoint
from gateway.errors import AuditWriteError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.resolver import IdentityResolver

__all__ = [
    "APPENDS_RESUMED",
    "check_audit",
    "check_directory",
    "check_storage",
    "readiness_problems",
]

APPENDS_RESUMED = "audit.appends_resumed"  # the first record written after a failed append

_resuming = threading.Lock()


def check_audit(log: AuditStore | None) -> str | None:
    """Why the next audit append would fail, or ``None``."""
    if log is None:
        return f"auditing is off ({UNSAFE_SETTING}): actions are not audited"
    return log.readiness_problem() or _resume_appends(log)


def _resume_appends(log: AuditStore) -> str | None:
    """After a failed append, write one record saying so; why it fails, or ``None``."""
    with _resuming:  # concurrent checks write one record, not one each
        failure = log.last_failure
        if failure is None:
            return None
        try:
            log.append(AuditEvent(type=APPENDS_RESUMED, payload={"after_failure": failure}))
        except AuditWriteError as exc:
            return f"audit log {log.where}: appends fail: {exc}"
    return None


def check_directory(directory: DirectoryConnector) -> str | None:
    """Which identity sources are cut off, or ``None``."""
    if not isinstance(directory, IdentityResolver):
        return None  # a single embedded file: nothing to reach
    failing = [
        name
        for name, breaker in directory._breakers.items()  # the resolver has no public view
        if not breaker.allows_call()
    ]
    if not failing:
        return None
    return f"identity source unreachable: {', '.join(failing)} (failing, not being called)"


def check_storage(storage: object) -> str | None:
    """Why the shared database cannot serve, or ``None`` (SQLite files: nothing to reach)."""
    probe = getattr(storage, "readiness_problem", None)  # ``PostgresBackend``'s
    if probe is None:
        return None
    problem = probe()
    return None if problem is None else str(problem)


def readiness_problems(gateway: EnforcementPoint) -> dict[str, str]:
    """Every failed check, by name; empty when the gateway is ready."""
    found = {
        "storage": check_storage(getattr(gateway, "storage", None)),
        "audit": check_audit(gateway.audit),
        "directory": check_directory(gateway.directory),
    }
    return {name: reason for name, reason in found.items() if reason is not None}
