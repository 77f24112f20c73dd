"""Errors of the storage backends (each store raises its own for its failures).

A store's error is the one its callers know (``ExecutionStoreError``,
``ApprovalStoreError``, ...).  When the cause is that the database cannot serve at all
(unreachable, restarting, a connection cut, no pooled connection in time), the store's
error is raised *from* a ``StorageUnavailableError``: ``unavailable_cause`` finds it, so
the HTTP API answers every such failure with one problem (503 ``storage-unavailable``)
and the command line with exit code 5, whichever store met it.
"""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = ["LeaseStoreError", "StorageUnavailableError", "unavailable_cause"]


class StorageUnavailableError(GatewayError):
    """The configured database cannot be reached (the gateway does not start without it;
    while it runs, the request fails and nothing changes)."""

    exit_code = ExitCode.UNAVAILABLE


class LeaseStoreError(GatewayError):
    """The lease table cannot be read or written (the background work waits)."""

    exit_code = ExitCode.UNAVAILABLE


def unavailable_cause(error: BaseException) -> StorageUnavailableError | None:
    """The ``StorageUnavailableError`` that ``error`` is, or was raised from, if any."""
    found: BaseException | None = error
    while found is not None:
        if isinstance(found, StorageUnavailableError):
            return found
        found = found.__cause__
    return None
