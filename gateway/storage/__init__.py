"""Durable state of every store on one of two backends: SQLite files (the embedded
default) or one PostgreSQL database shared by several gateway processes and hosts.

``open_backend(settings)`` opens the configured one; each store opens its tables with
``backend.open(schema, path, what=..., error=...)`` and works in ``transaction()``
(``gateway.storage.base`` states what a store may rely on).
"""

from __future__ import annotations

from gateway.storage.base import Backend, Connection, Cursor, Database, Migration, Schema
from gateway.storage.errors import StorageUnavailableError
from gateway.storage.settings import StorageSettings
from gateway.storage.sqlite import SqliteBackend

__all__ = [
    "Backend",
    "Connection",
    "Cursor",
    "Database",
    "Migration",
    "Schema",
    "SqliteBackend",
    "StorageSettings",
    "StorageUnavailableError",
    "open_backend",
]


def open_backend(settings: StorageSettings) -> Backend:
    """The backend ``settings`` choose; PostgreSQL's connection string is read from the
    environment here (``ConfigError`` naming the variable when it is not set)."""
    if settings.backend == "sqlite":
        return SqliteBackend()
    from gateway.storage.postgres import PostgresBackend  # psycopg only when used

    resolved = settings.with_secrets("storage")
    return PostgresBackend(
        resolved.secret("dsn").get_secret_value(),
        pool_size=settings.pool_size,
        prefix=settings.schema_prefix,
        timeout_seconds=settings.timeout_seconds,
    )
