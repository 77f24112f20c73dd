"""Errors of the storage backends (each store raises its own for its failures)."""

from __future__ import annotations

from gateway.errors import GatewayError

__all__ = ["LeaseStoreError", "StorageUnavailableError"]


class StorageUnavailableError(GatewayError):
    """The configured database cannot be reached (the gateway does not start without it)."""


class LeaseStoreError(GatewayError):
    """The lease table cannot be read or written (the background work waits)."""
