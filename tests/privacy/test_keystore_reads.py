"""Data key look-ups from the key store's side, on both storage backends: a remembered
key costs one read of the store's erasure generation, and a key erased by any process is
never handed out again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.privacy.keystore import DataKeyStore, KeyState
from gateway.storage import Backend

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def keys(tmp_path: Path, storage_backend: Backend) -> Iterator[DataKeyStore]:
    with DataKeyStore(tmp_path / "keys.sqlite", storage_backend) as store:
        yield store


def test_a_remembered_key_costs_one_read_and_an_erased_one_is_never_handed_out(
    keys: DataKeyStore,
    tmp_path: Path,
    storage_backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kid, key = keys.key_for("tom", "decision", "2026-12", NOW)
    database = keys._db
    reads: list[str] = []
    read_latest = database.read_latest

    def counted(sql: str) -> object:
        reads.append(sql)
        return read_latest(sql)

    def no_transaction(**_: object) -> object:
        raise AssertionError("a transaction for a remembered key")

    monkeypatch.setattr(database, "read_latest", counted)
    monkeypatch.setattr(database, "transaction", no_transaction)
    assert keys.key_for("tom", "decision", "2026-12", NOW) == (kid, key)
    assert len(reads) == 1
    monkeypatch.undo()

    with DataKeyStore(tmp_path / "keys.sqlite", storage_backend) as elsewhere:
        assert elsewhere.erase_person("tom", NOW) == 1  # another process erases tom
    again, other_key = keys.key_for("tom", "decision", "2026-12", NOW)
    assert (again, other_key) != (kid, key)
    assert keys.status(kid).state is KeyState.ERASED
    assert keys.key_for("tom", "decision", "2026-12", NOW) == (again, other_key)
