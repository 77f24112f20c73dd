"""Fixtures of the storage tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from gateway.storage.postgres import PostgresBackend


@pytest.fixture
def prefix(shared_postgres: PostgresBackend) -> Iterator[str]:
    """Schemas no other test uses, dropped afterwards."""
    name = f"x{uuid.uuid4().hex[:12]}_"
    yield name
    with shared_postgres.pool.connection() as db:
        for (namespace,) in db.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (name,)
        ).fetchall():
            db.execute(f'DROP SCHEMA "{namespace}" CASCADE')
