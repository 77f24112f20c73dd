"""The SQLite store: opening, schema version, transactions and failures."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.stepup import StepUpStore, StepUpStoreError
from gateway.stepup.store import SCHEMA_VERSION, format_time, parse_time
from tests.stepup import START

EARLIER = START - timedelta(hours=1)


def test_a_new_store_is_private_in_wal_mode_with_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "var" / "stepup.db"
    store = StepUpStore(path)
    store.close()
    assert path.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert tables == {
        "seeds",
        "replay_guard",
        "recovery_codes",
        "failures",
        "lockouts",
        "step_ups",
        "step_up_uses",
    }


def test_a_store_from_a_newer_gateway_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stepup.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StepUpStoreError, match="schema version 99 is not supported"):
        StepUpStore(path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stepup.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StepUpStoreError, match="cannot open step-up store: file is not a database"):
        StepUpStore(path)


def test_a_store_in_a_place_that_cannot_exist_is_refused(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("a file, not a folder")
    with pytest.raises(StepUpStoreError, match="cannot open step-up store: "):
        StepUpStore(tmp_path / "var" / "stepup.db")


def test_a_connection_that_fails_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: Any, **__: Any) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    with pytest.raises(StepUpStoreError, match="unable to open database file"):
        StepUpStore(tmp_path / "stepup.db")


def test_a_closed_store_fails_with_a_store_error(tmp_path: Path) -> None:
    store = StepUpStore(tmp_path / "stepup.db")
    store.close()
    with pytest.raises(StepUpStoreError, match="step-up store failed"), store.transaction() as tx:
        tx.seed("alice")


def _fail_inside(store: StepUpStore, error: Exception, *, commit_first: bool = False) -> None:
    with store.transaction() as tx:
        tx.add_failure("alice", START, EARLIER)
        if commit_first:
            tx._db.execute("COMMIT")
        raise error


def test_a_database_error_inside_a_transaction_rolls_it_back(tmp_path: Path) -> None:
    store = StepUpStore(tmp_path / "stepup.db")
    with pytest.raises(StepUpStoreError, match="step-up store failed: constraint failed"):
        _fail_inside(store, sqlite3.IntegrityError("constraint failed"))
    with store.transaction() as tx:
        assert tx.add_failure("alice", START, EARLIER) == 1
    store.close()


def test_any_other_error_rolls_back_and_passes_through(tmp_path: Path) -> None:
    store = StepUpStore(tmp_path / "stepup.db")
    with pytest.raises(KeyError):
        _fail_inside(store, KeyError("boom"))
    with store.transaction() as tx:
        assert tx.add_failure("alice", START, EARLIER) == 1
    store.close()


def test_an_error_after_the_transaction_ended_is_passed_through(tmp_path: Path) -> None:
    store = StepUpStore(tmp_path / "stepup.db")
    with pytest.raises(KeyError):
        _fail_inside(store, KeyError("after the end"), commit_first=True)
    with store.transaction() as tx:
        assert tx.add_failure("alice", START, EARLIER) == 2
    store.close()


def test_times_are_stored_in_utc_and_read_back() -> None:
    text = format_time(START)
    assert text == "2024-05-01T09:30:00.000000Z"
    assert parse_time(text) == START
    with pytest.raises(TypeError, match="timezone-aware"):
        format_time(datetime(2024, 5, 1))
