"""The storage backends from a store's side: migrations, transactions, rows, failures."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import psycopg_pool
import pytest
from pydantic import SecretStr, ValidationError

from gateway.config import GatewayConfig
from gateway.errors import ConfigError, GatewayError
from gateway.secrets import FILE_CONTEXT
from gateway.storage import (
    Backend,
    Database,
    Migration,
    Schema,
    SqliteBackend,
    StorageSettings,
    StorageUnavailableError,
    open_backend,
)
from gateway.storage.dialect import lock_key, postgres_ddl, postgres_sql, quote_identifier
from gateway.storage.postgres import PostgresBackend
from gateway.storage.sqlite import statements
from tests.postgres import FreshSchemas, PostgresServer, free_port


class ThingStoreError(GatewayError):
    """The error of the store these tests play."""


V1 = """
CREATE TABLE IF NOT EXISTS things (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, blob BLOB,
    weight REAL, flag INTEGER NOT NULL DEFAULT 0, note TEXT DEFAULT 'a;b');
"""
V2 = Migration(
    sqlite="ALTER TABLE things ADD COLUMN position INTEGER; UPDATE things SET position = rowid;",
    postgresql="ALTER TABLE things ADD COLUMN position INTEGER;",
)
SCHEMA = Schema("things", (V1, V2))


def _open(backend: Backend, tmp_path: Path, schema: Schema = SCHEMA) -> Database:
    return backend.open(schema, tmp_path / "things.db", what="thing store", error=ThingStoreError)


@pytest.fixture
def things(storage_backend: Backend, tmp_path: Path) -> Iterator[Database]:
    database = _open(storage_backend, tmp_path)
    yield database
    database.close()


# -- on both backends ---------------------------------------------------------------------


def test_rows_read_by_position_by_name_and_as_slices(things: Database) -> None:
    with things.transaction() as db:
        db.execute(
            "INSERT INTO things (name, blob, weight, flag) VALUES (?, ?, ?, ?)",
            ("lamp", b"\x00\xff", 1.5, True),
        )
        db.executemany("INSERT INTO things (name) VALUES (?)", [("desk",), ("chair",)])
    with things.transaction(write=False) as db:
        row = db.execute(
            "SELECT id, name, blob, weight, flag, note FROM things WHERE name = ?", ("lamp",)
        ).fetchone()
        names = [name for (name,) in db.execute("SELECT name FROM things ORDER BY id")]
        percent = db.execute("SELECT count(*) FROM things WHERE name LIKE '%a%'").fetchone()
    assert (row["name"], bytes(row["blob"]), row["weight"], row["flag"]) == (
        "lamp",
        b"\x00\xff",
        1.5,
        1,  # booleans are stored as integers on both
    )
    assert row[1] == "lamp"
    assert tuple(row[1:3]) == ("lamp", b"\x00\xff")
    assert row["note"] == "a;b"
    assert names == ["lamp", "desk", "chair"]
    assert percent[0] == 2  # a literal % reaches the database as written


def _insert_then(things: Database, error: Exception | None, *names: str) -> None:
    with things.transaction() as db:
        for name in names:
            db.execute("INSERT INTO things (name) VALUES (?)", (name,))
        if error is not None:
            raise error


def test_a_block_that_raises_leaves_nothing_behind(things: Database) -> None:
    with pytest.raises(RuntimeError, match="half way"):
        _insert_then(things, RuntimeError("half way"), "lamp")
    with things.transaction(write=False) as db:
        assert db.execute("SELECT count(*) FROM things").fetchone()[0] == 0


def test_a_database_error_is_the_owners_error_and_rolls_back(things: Database) -> None:
    _insert_then(things, None, "lamp")
    with pytest.raises(ThingStoreError, match="thing store failed: "):
        _insert_then(things, None, "desk", "lamp")  # lamp is not unique
    with things.transaction(write=False) as db:
        assert db.execute("SELECT count(*) FROM things").fetchone()[0] == 1


def test_opening_again_applies_nothing_twice(storage_backend: Backend, tmp_path: Path) -> None:
    first = _open(storage_backend, tmp_path)
    with first.transaction() as db:
        db.execute("INSERT INTO things (name, position) VALUES (?, ?)", ("lamp", 7))
    again = _open(storage_backend, tmp_path)
    with again.transaction(write=False) as db:
        assert db.execute("SELECT position FROM things").fetchone()[0] == 7
    first.close()
    again.close()


def test_a_store_from_a_newer_gateway_is_refused(storage_backend: Backend, tmp_path: Path) -> None:
    _open(storage_backend, tmp_path).close()
    older = Schema("things", (V1,))
    with pytest.raises(
        ThingStoreError,
        match=r"cannot open thing store: schema version 2 is not supported \(expected 1\)",
    ):
        _open(storage_backend, tmp_path, older)


def test_a_closed_store_fails_with_the_owners_error(
    storage_backend: Backend, tmp_path: Path
) -> None:
    database = _open(storage_backend, tmp_path)
    database.close()
    with pytest.raises(ThingStoreError, match="thing store failed"), database.transaction():
        pass


def test_write_transactions_of_one_store_run_one_at_a_time(
    storage_backend: Backend, tmp_path: Path
) -> None:
    """Two handles (two connections), each reading a counter and writing it plus one:
    no increment is lost."""
    handles = [_open(storage_backend, tmp_path) for _ in range(2)]
    with handles[0].transaction() as db:
        db.execute("INSERT INTO things (name, weight) VALUES ('counter', 0)")

    def bump(handle: Database) -> None:
        for _ in range(25):
            with handle.transaction() as db:
                (value,) = db.execute("SELECT weight FROM things WHERE name = 'counter'").fetchone()
                db.execute("UPDATE things SET weight = ? WHERE name = 'counter'", (value + 1,))

    threads = [threading.Thread(target=bump, args=(handle,)) for handle in handles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with handles[0].transaction(write=False) as db:
        assert db.execute("SELECT weight FROM things WHERE name = 'counter'").fetchone()[0] == 50
    for handle in handles:
        handle.close()


# -- SQLite ---------------------------------------------------------------------------------


def test_a_sqlite_file_written_at_version_one_gains_version_two(tmp_path: Path) -> None:
    path = tmp_path / "things.db"
    _open(SqliteBackend(), tmp_path, Schema("things", (V1,))).close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO things (name) VALUES ('lamp')")
    raw.close()
    database = _open(SqliteBackend(), tmp_path)
    assert database.where == str(path)
    with database.transaction(write=False) as db:
        assert tuple(db.execute("SELECT name, position FROM things").fetchone()) == ("lamp", 1)
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    database.close()
    SqliteBackend().close()  # nothing to close: each store closes its file


def test_a_failed_sqlite_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    _open(SqliteBackend(), tmp_path, Schema("things", (V1,))).close()
    broken = Schema("things", (V1, "ALTER TABLE missing ADD COLUMN x INTEGER;"))
    with pytest.raises(ThingStoreError, match="cannot open thing store: no such table: missing"):
        _open(SqliteBackend(), tmp_path, broken)
    with sqlite3.connect(tmp_path / "things.db") as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (1,)
    raw.close()


def test_a_sqlite_file_that_cannot_be_made_or_opened_is_the_owners_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    with pytest.raises(ThingStoreError, match="cannot open thing store: "):
        _open(SqliteBackend(), tmp_path / "file")

    def refuse(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    with pytest.raises(ThingStoreError, match="unable to open database file"):
        _open(SqliteBackend(), tmp_path)


def _commit_then_fail(database: Database) -> None:
    with database.transaction() as db:
        db.execute("COMMIT")  # nothing left to roll back
        raise RuntimeError("after commit")


def test_an_error_after_a_sqlite_transaction_ended_passes_through(tmp_path: Path) -> None:
    database = _open(SqliteBackend(), tmp_path)
    with pytest.raises(RuntimeError, match="after commit"):
        _commit_then_fail(database)
    database.close()


def test_schema_scripts_are_split_into_whole_statements() -> None:
    script = "CREATE TABLE a (x TEXT DEFAULT ';');\n;\nCREATE TABLE b (y INTEGER);\n"
    assert statements(script) == [
        "CREATE TABLE a (x TEXT DEFAULT ';');",
        "CREATE TABLE b (y INTEGER);",
    ]


# -- PostgreSQL -----------------------------------------------------------------------------


def test_the_sql_is_rewritten_for_postgresql_in_one_place() -> None:
    assert postgres_sql("SELECT * FROM t WHERE a = ? AND b LIKE '%x'") == (
        "SELECT * FROM t WHERE a = %s AND b LIKE '%%x'"
    )
    assert postgres_ddl(
        "id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, r REAL, b BLOB, k INTEGER PRIMARY KEY"
    ) == (
        "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT, r DOUBLE PRECISION,"
        " b BYTEA, k BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    )
    assert quote_identifier("gateway_runtime") == '"gateway_runtime"'
    with pytest.raises(ValueError, match="not a valid schema name"):
        quote_identifier('x"; DROP TABLE y; --')
    assert (
        lock_key("gateway_runtime") == lock_key("gateway_runtime") != lock_key("gateway_approvals")
    )
    assert Schema("things", (V1, V2)).scripts("postgresql", 1) == [V2.postgresql]


@pytest.mark.postgresql
def test_a_postgresql_read_transaction_cannot_write(
    shared_postgres: PostgresBackend, tmp_path: Path
) -> None:
    backend = FreshSchemas(shared_postgres)
    database = _open(backend, tmp_path)
    assert database.where == f"postgresql schema {backend.prefix}things"
    with (
        pytest.raises(ThingStoreError, match="read-only transaction"),
        database.transaction(write=False) as db,
    ):
        db.execute("INSERT INTO things (name) VALUES ('lamp')")
    backend.close()


def test_an_unreachable_database_is_refused_without_showing_the_password() -> None:
    dsn = f"postgresql://gateway:Sup3r-secret@127.0.0.1:{free_port()}/gateway"
    with pytest.raises(
        StorageUnavailableError, match="cannot reach the PostgreSQL database"
    ) as caught:
        PostgresBackend(dsn, timeout_seconds=1)
    assert "Sup3r-secret" not in str(caught.value)
    with pytest.raises(StorageUnavailableError, match="the connection string is not valid") as bad:
        PostgresBackend("host=x password Sup3r-secret", timeout_seconds=1)
    assert "Sup3r-secret" not in str(bad.value)


@pytest.mark.postgresql
def test_a_password_in_the_server_answer_is_not_shown(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn = f"{postgres_server.dsn} password=Sup3r-secret"

    def echoing(*args: object, **kwargs: object) -> None:
        raise psycopg.OperationalError("server said: password Sup3r-secret is wrong")

    monkeypatch.setattr(psycopg, "connect", echoing)
    with pytest.raises(StorageUnavailableError, match=r"connection failed$"):
        PostgresBackend(dsn, timeout_seconds=1)


@pytest.mark.postgresql
def test_a_pool_that_cannot_fill_is_refused(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(self: object, wait: bool = False, timeout: float = 30.0) -> None:
        raise psycopg_pool.PoolTimeout("pool initialization incomplete")

    monkeypatch.setattr(psycopg_pool.ConnectionPool, "open", never)
    with pytest.raises(StorageUnavailableError, match="pool initialization incomplete"):
        PostgresBackend(postgres_server.dsn, timeout_seconds=1)


# -- settings -------------------------------------------------------------------------------


def test_the_embedded_backend_is_the_default_and_needs_nothing() -> None:
    assert isinstance(open_backend(StorageSettings()), SqliteBackend)
    assert GatewayConfig().storage.backend == "sqlite"


def test_postgresql_needs_the_variable_that_holds_its_connection_string() -> None:
    with pytest.raises(ValidationError, match="dsn_env: name the environment variable"):
        StorageSettings(backend="postgresql")
    with pytest.raises(ValidationError, match="only the postgresql backend uses"):
        StorageSettings(dsn_env="GATEWAY_DSN")
    with pytest.raises(ValidationError, match="secrets never go in the configuration file"):
        GatewayConfig.model_validate(
            {"storage": {"backend": "postgresql", "dsn": "host=db password=x"}},
            context=FILE_CONTEXT,
        )


def test_a_connection_string_variable_that_is_not_set_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GATEWAY_TEST_DSN", raising=False)
    settings = StorageSettings(backend="postgresql", dsn_env="GATEWAY_TEST_DSN")
    with pytest.raises(
        ConfigError, match=r"storage\.dsn_env: environment variable GATEWAY_TEST_DSN is not set"
    ):
        open_backend(settings)


@pytest.mark.postgresql
def test_the_postgresql_backend_opens_from_the_environment(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GATEWAY_TEST_DSN", postgres_server.dsn)
    settings = StorageSettings(
        backend="postgresql", dsn_env="GATEWAY_TEST_DSN", schema_prefix="envtest_", pool_size=2
    )
    backend = open_backend(settings)
    try:
        assert backend.name == "postgresql"
        database = _open(backend, tmp_path)
        assert database.where == "postgresql schema envtest_things"
        assert isinstance(backend, PostgresBackend)
        with backend.pool.connection() as db:
            db.execute("DROP SCHEMA envtest_things CASCADE")
    finally:
        backend.close()


def test_settings_hold_the_secret_as_a_secret() -> None:
    settings = StorageSettings(backend="postgresql", dsn=SecretStr("host=db password=x"))
    assert "password=x" not in repr(settings)


def test_the_latest_read_sees_every_commit_before_it_and_fails_as_the_owner(
    storage_backend: Backend, tmp_path: Path
) -> None:
    reader, writer = _open(storage_backend, tmp_path), _open(storage_backend, tmp_path)
    assert reader.read_latest("SELECT name FROM things") is None
    _insert_then(writer, None, "lamp")  # committed through another handle
    assert tuple(reader.read_latest("SELECT count(*), max(name) FROM things")) == (1, "lamp")
    assert reader.read_latest("SELECT name FROM things")["name"] == "lamp"

    with pytest.raises(ThingStoreError, match="thing store failed: "):
        reader.read_latest("SELECT nothing FROM things")
    _insert_then(reader, None, "desk")  # the handle still writes afterwards
    with pytest.raises(RuntimeError, match="half way"):
        _insert_then(reader, RuntimeError("half way"), "chair")  # and still rolls back
    assert reader.read_latest("SELECT count(*) FROM things")[0] == 2
    reader.close()
    with pytest.raises(ThingStoreError, match="thing store failed"):
        reader.read_latest("SELECT count(*) FROM things")
    writer.close()


def test_the_latest_read_binds_its_parameters_as_values_never_as_sql(
    things: Database,
) -> None:
    awkward = "it's 100%; DROP TABLE things; --"
    with things.transaction() as db:
        db.executemany(
            "INSERT INTO things (name, blob, weight, flag) VALUES (?, ?, ?, ?)",
            [(awkward, b"\x00'\xff", 2.5, True), ("lamp", None, None, False)],
        )
    row = things.read_latest(
        "SELECT name, blob, weight, flag FROM things WHERE name = ? AND flag = ? AND weight > ?",
        (awkward, True, 2),
    )
    assert (row["name"], bytes(row["blob"]), row["weight"], row["flag"]) == (
        awkward,
        b"\x00'\xff",
        2.5,
        1,
    )
    assert (
        things.read_latest("SELECT name FROM things WHERE blob = ?", (b"\x00'\xff",))[0] == awkward
    )
    percent = "SELECT count(*) FROM things WHERE name LIKE '%!%%' ESCAPE '!'"
    assert things.read_latest(percent)[0] == 1  # a literal % reaches the database as written
    assert things.read_latest("SELECT name FROM things WHERE name = ?", ("nobody",)) is None
    assert things.read_latest("SELECT count(*) FROM things")[0] == 2  # nothing dropped
