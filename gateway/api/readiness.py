"""Whether the gateway can do its work now: cheap checks for ``GET /readyz``.

* **audit**: the log file is still where the gateway writes it, can be opened for
  appending, ends with a complete line and its last record reads (what the next append
  needs); a missing, moved, torn or garbled log fails.
* **directory**: no identity source is cut off by its circuit breaker (it failed
  ``failure_threshold`` times in a row and is not being called).
* **policy**: the bundle in force (a gateway cannot start without one; a refused reload
  keeps the last good bundle, so this names the digest that decides).

No check calls an outside system: they read local state only.
"""

from __future__ import annotations

import os

from gateway.app import Gateway
from gateway.audit.log import AuditLog
from gateway.audit.records import parse_record
from gateway.errors import VerificationError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.resolver import IdentityResolver

__all__ = ["check_audit", "check_directory", "readiness_problems"]

_TAIL_BYTES = 65_536


def check_audit(log: AuditLog | None) -> str | None:
    """Why the next audit append would fail, or ``None``."""
    if log is None:
        return None  # auditing is off: nothing to append to
    path = log.path
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)  # never creates it
        os.close(descriptor)
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            start = max(0, size - _TAIL_BYTES)
            tail = os.pread(handle.fileno(), size - start, start)
    except OSError as exc:
        return f"audit log {path} cannot be appended to: {exc.strerror}"
    if not tail:
        return None
    if not tail.endswith(b"\n"):
        return f"audit log {path} ends in a torn record"
    try:
        parse_record(tail[:-1].rsplit(b"\n", 1)[-1], -1)
    except VerificationError as exc:
        return f"audit log {path}: last record is unreadable: {exc}"
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


def readiness_problems(gateway: Gateway) -> dict[str, str]:
    """Every failed check, by name; empty when the gateway is ready."""
    found = {
        "audit": check_audit(gateway.audit),
        "directory": check_directory(gateway.directory),
    }
    return {name: reason for name, reason in found.items() if reason is not None}
