"""The embedded SQLite file behind the gateway's own small stores (API keys, the device
and directory stand-ins, the knowledge index, data keys): private, versioned, and every
failure named with its file."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from gateway.embedded_db import EmbeddedDatabase
from gateway.errors import GatewayError

SCHEMA = "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);"


class NotesError(GatewayError):
    pass


def _open(path: Path, version: int = 1) -> EmbeddedDatabase:
    return EmbeddedDatabase(
        path, schema=SCHEMA, version=version, what="note store", error=NotesError
    )


def _insert_then_fail(db: EmbeddedDatabase) -> None:
    with db.transaction() as tx:
        tx.execute("INSERT INTO notes (text) VALUES (?)", ("lost",))
        raise ValueError("half done")


def _run(db: EmbeddedDatabase, statement: str) -> None:
    with db.transaction() as tx:
        tx.execute(statement)


def test_a_new_file_is_private_and_keeps_what_was_committed(tmp_path: Path) -> None:
    path = tmp_path / "state" / "notes.db"
    db = _open(path)
    with db.transaction() as tx:
        tx.execute("INSERT INTO notes (text) VALUES (?)", ("kept",))
    db.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = _open(path)
    with again.transaction(write=False) as tx:
        assert tx.execute("SELECT text FROM notes").fetchall() == [("kept",)]
    again.close()


def test_a_block_that_raises_leaves_nothing_behind(tmp_path: Path) -> None:
    db = _open(tmp_path / "notes.db")
    with pytest.raises(ValueError, match="half done"):
        _insert_then_fail(db)
    with db.transaction(write=False) as tx:
        assert tx.execute("SELECT COUNT(*) FROM notes").fetchone() == (0,)
    db.close()


def test_a_failing_statement_is_the_owners_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    db = _open(path)
    with pytest.raises(NotesError, match=rf"{path}: note store failed: .*no such table"):
        _run(db, "SELECT * FROM missing")
    db.close()


def test_a_file_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    _open(path, version=2).close()
    with pytest.raises(NotesError, match=r"cannot open note store: schema version 2"):
        _open(path, version=1)


def test_a_file_that_is_not_a_database_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not SQLite, only text that is long enough to be read" * 10)
    with pytest.raises(NotesError, match=rf"{path}: cannot open note store"):
        _open(path)


def test_a_folder_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(NotesError, match=r"cannot open note store"):
        _open(blocker / "notes.db")


def test_a_transaction_that_cannot_begin_is_the_owners_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    db = _open(path)
    other = sqlite3.connect(path, timeout=0.0, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    db.connection.execute("PRAGMA busy_timeout = 0")
    try:
        with pytest.raises(NotesError, match=rf"{path}: note store failed: database is locked"):
            _run(db, "SELECT 1")
    finally:
        other.execute("ROLLBACK")
        other.close()
        db.close()


def test_a_block_that_ended_its_own_transaction_is_not_rolled_back_twice(tmp_path: Path) -> None:
    db = _open(tmp_path / "notes.db")
    with pytest.raises(ValueError, match="ended"):
        _end_then_fail(db)
    _run(db, "INSERT INTO notes (text) VALUES ('after')")  # the file is usable afterwards
    db.close()


def test_when_sqlite_cannot_open_the_file_it_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object, **__: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    path = tmp_path / "notes.db"
    with pytest.raises(NotesError, match=rf"{path}: cannot open note store: unable to open"):
        _open(path)


def _end_then_fail(db: EmbeddedDatabase) -> None:
    with db.transaction() as tx:
        tx.execute("ROLLBACK")
        raise ValueError("ended")
