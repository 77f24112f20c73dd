"""The shared backend: one PostgreSQL database for every gateway process and host.

``PostgresBackend`` holds one connection pool (psycopg 3, ``psycopg_pool``); each store
gets its own schema (``<prefix><component>``, e.g. ``gateway_approvals``) with a
``schema_migrations`` table listing the migrations applied.  Opening a store takes the
store's advisory lock, creates its schema and applies the missing migrations, so processes
starting together migrate once.

Every transaction sets ``search_path`` to the store's schema, in the message that begins it
(pooled connections are in autocommit; the transaction's first message is its own
``BEGIN``, so opening it costs one round trip).  A write transaction first
takes the store's transaction-scoped advisory lock (``pg_advisory_xact_lock``): write
transactions of one store run one at a time across every process, as they do on SQLite,
and under READ COMMITTED each statement after the lock sees every earlier commit.  Within
one process, a thread waits for its turn on an in-process lock of the store before it
takes a pooled connection, so waiting writers never hold the connections the writer
holding the lock may need (its audit append inside the transaction).  A read
transaction is REPEATABLE READ and READ ONLY: one snapshot, and a write in it fails.

Every psycopg failure (an unreachable server, a timeout waiting for the pool, a broken
connection, a constraint) becomes the owner's domain error; the DSN is never in a message.
When the database cannot serve at all (psycopg's ``OperationalError``: unreachable, cut,
restarting, no pooled connection in time) that error is raised from a
``StorageUnavailableError`` (``gateway.storage.errors``).  Nothing is retried inside a
transaction; the pool reconnects in the background and a connection found cut before its
transaction began is replaced at once.

No wait is unbounded (``deadlines``): the connection string gets ``connect_timeout``, TCP
keepalives, ``tcp_user_timeout``, ``statement_timeout`` and ``lock_timeout`` from the
store's timeout unless it sets them, and a statement whose peer never answers is cut by a
watchdog, so a silently dropping network fails the request as unavailable in time.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import RowMaker
from psycopg_pool import ConnectionPool, PoolTimeout

from gateway.errors import GatewayError
from gateway.storage.base import Connection, Cursor, Schema
from gateway.storage.deadlines import Watchdog, safe_conninfo
from gateway.storage.dialect import lock_key, postgres_ddl, postgres_sql, quote_identifier
from gateway.storage.errors import StorageUnavailableError

__all__ = ["READINESS_SECONDS", "PostgresBackend", "PostgresDatabase", "Row"]

READINESS_SECONDS = 2.0  # the longest a readiness check waits for a pooled connection


class Row(tuple[Any, ...]):
    """A row read by position (a tuple) or by column name, like ``sqlite3.Row``."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)


def _rows(cursor: Any) -> RowMaker[Row]:
    """Rows of the current result, their column names read at the first row (a result
    without rows, such as a ``SET``'s, never reads them)."""
    names: dict[str, int] = {}

    def make(values: Sequence[Any]) -> Row:
        if not names:
            names.update((column.name, index) for index, column in enumerate(cursor.description))
        return Row(values, names)

    return make


class _BooleanAsInteger(Dumper):
    """Booleans stored as 0/1 integers, as SQLite stores them."""

    oid = psycopg.postgres.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


def _configure(connection: psycopg.Connection[Any]) -> None:
    connection.adapters.register_dumper(bool, _BooleanAsInteger)
    connection.row_factory = _rows
    # A transaction is begun by its own first message (``_begun``), not by a ``BEGIN``
    # psycopg would send on its own, one round trip earlier.
    connection.autocommit = True


_WATCHDOG = Watchdog()


def _watched(connection: psycopg.Connection[Any], seconds: float | None) -> Any:
    """A statement on ``connection`` cut when unanswered after ``seconds`` (``deadlines``)."""
    return _WATCHDOG.watch(connection.pgconn.socket, seconds)


class PostgresConnection:
    """A pooled connection inside one transaction, speaking the stores' SQL; each
    statement is cut when unanswered after ``seconds`` (``None``: never)."""

    def __init__(self, connection: psycopg.Connection[Any], seconds: float | None = None) -> None:
        self._connection = connection
        self._seconds = seconds

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        with _watched(self._connection, self._seconds):
            return self._connection.execute(postgres_sql(sql), tuple(parameters))

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> object:
        rows = [tuple(row) for row in seq_of_parameters]
        with _watched(self._connection, self._seconds), self._connection.cursor() as cursor:
            cursor.executemany(postgres_sql(sql), rows)
        return None


@contextmanager
def _begun(
    pool: ConnectionPool[psycopg.Connection[Any]],
    begin: str,
    seconds: float | None,
    timeout: float | None = None,
) -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection (in autocommit: ``_configure``) after ``begin``, one message
    that opens the transaction (``BEGIN ...; SET LOCAL ...``) in one round trip; it is
    committed when the block ends and rolled back (by the pool) if the block raises.  A
    connection the database cut while it sat in the pool (a restart, an administrator)
    fails on ``begin``, before anything ran on it: it is dropped and the next one tried,
    so a database that came back is used at once rather than after one failed request per
    pooled connection."""
    left = pool.max_size  # at most every pooled connection is found cut
    while True:
        with pool.connection(timeout=timeout) as db:
            try:
                with _watched(db, seconds):
                    db.execute(begin)
            except psycopg.OperationalError:
                if db.broken and left:
                    left -= 1
                    continue
                raise
            yield db
            with _watched(db, seconds):
                db.commit()
            return


def _read_one(
    pool: ConnectionPool[psycopg.Connection[Any]],
    path: str,
    sql: str,
    parameters: Sequence[Any],
    seconds: float | None,
) -> Any:
    """The first row of ``sql`` sent after ``path`` as one message on a pooled connection
    (in autocommit), which PostgreSQL runs as one implicit transaction; ``parameters``
    are bound into the text as literals by psycopg (client-side binding, escaped by the
    connection).  A connection the database cut while it sat in the pool is dropped and
    the next one tried, as ``_begun`` does: nothing ran on it."""
    left = pool.max_size
    while True:
        with pool.connection() as db:
            bound = (
                psycopg.ClientCursor(db).mogrify(postgres_sql(sql), parameters)
                if parameters
                else sql  # nothing to bind: the text as written
            )
            try:
                with _watched(db, seconds):
                    cursor = db.execute(f"{path}; {bound}")
            except psycopg.OperationalError:
                if db.broken and left:
                    left -= 1
                    continue
                raise
            while cursor.nextset():
                pass
            return cursor.fetchone()


_TURNS: weakref.WeakKeyDictionary[object, dict[str, threading.Lock]] = weakref.WeakKeyDictionary()
_TURNS_LOCK = threading.Lock()


def _turns(pool: object, namespace: str) -> threading.Lock:
    """The in-process lock of the store ``namespace`` on ``pool`` (one per store and
    pool, whichever handles on the store this process opened)."""
    with _TURNS_LOCK:
        return _TURNS.setdefault(pool, {}).setdefault(namespace, threading.Lock())


class PostgresDatabase:
    """One store's schema in the shared database."""

    def __init__(
        self,
        pool: ConnectionPool[psycopg.Connection[Any]],
        namespace: str,
        schema: Schema,
        *,
        what: str,
        error: type[GatewayError],
        statement_seconds: float | None = None,
    ) -> None:
        self._pool = pool
        self._seconds = statement_seconds
        self._namespace = quote_identifier(namespace)
        self._key = lock_key(namespace)
        self._what = what
        self._error = error
        self._closed = threading.Event()
        self.where = f"postgresql schema {namespace}"
        self._path = f"SET LOCAL search_path TO {self._namespace}"
        self._begin_write = f"BEGIN; {self._path}; SELECT pg_advisory_xact_lock({self._key})"
        self._begin_read = f"BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; {self._path}"
        try:
            self._migrate(schema)
        except psycopg.Error as exc:
            raise error(f"{self.where}: cannot open {what}: {exc}") from exc

    def _migrate(self, schema: Schema) -> None:
        with self._pool.connection() as db, db.transaction():
            db.execute(f"SELECT pg_advisory_xact_lock({self._key})")
            db.execute(f"CREATE SCHEMA IF NOT EXISTS {self._namespace}")
            db.execute(f"SET LOCAL search_path TO {self._namespace}")
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY,"
                " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            row = db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
            found = int(row[0]) if row is not None else 0
            if found > schema.version:
                raise psycopg.DataError(
                    f"schema version {found} is not supported (expected {schema.version})"
                )
            for version, script in enumerate(schema.scripts("postgresql", found), start=found + 1):
                db.execute(postgres_ddl(script))
                db.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        begin = self._begin_write if write else self._begin_read
        with (
            self._failures(),
            self._turn(write),
            _begun(self._pool, begin, self._seconds) as db,
        ):
            yield PostgresConnection(db, self._seconds)

    def read_latest(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        """The first row of ``sql`` (one statement), or ``None``, in one round trip: sent
        with the store's ``search_path`` as one message, its ``parameters`` bound into
        the text (``_read_one``), which PostgreSQL runs as one implicit READ COMMITTED
        transaction, so it sees every commit made before it."""
        with self._failures():
            return _read_one(self._pool, self._path, sql, tuple(parameters), self._seconds)

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """A closed store, and every psycopg failure, as the owner's error."""
        if self._closed.is_set():
            raise self._error(f"{self.where}: {self._what} failed: the store is closed")
        try:
            yield
        except psycopg.OperationalError as exc:  # unreachable, cut, restarting, no connection
            message = f"{self.where}: {self._what} failed: the database is unavailable: {exc}"
            raise self._error(message) from StorageUnavailableError(message)
        except psycopg.Error as exc:
            raise self._error(f"{self.where}: {self._what} failed: {exc}") from exc

    @contextmanager
    def _turn(self, write: bool) -> Iterator[None]:
        """This process's turn to write to the store: its threads wait here, holding no
        pooled connection, rather than each holding one while PostgreSQL makes it wait for
        the store's lock.  Otherwise threads waiting for one store could take every
        connection, and the thread holding that store's lock, needing one more (an audit
        append inside the transaction), would wait for the pool until it timed out."""
        if not write:
            yield
            return
        lock = _turns(self._pool, self._namespace)
        if not lock.acquire(timeout=self._pool.timeout):
            raise PoolTimeout(f"no turn to write after {self._pool.timeout:g} sec")
        try:
            yield
        finally:
            lock.release()

    def close(self) -> None:
        """This store stops; the pool stays open for the others (``PostgresBackend.close``)."""
        self._closed.set()


def _reason(exc: psycopg.Error, dsn: str) -> str:
    """Why connecting failed, never showing the connection string or its password (libpq
    quotes a malformed string back)."""
    try:
        password = conninfo_to_dict(dsn).get("password")
    except psycopg.Error:
        return "the connection string is not valid"
    text = str(exc).strip()
    if password and str(password) in text:
        return "connection failed"
    return text


class PostgresBackend:
    """Every store in one PostgreSQL database, through one pool of ``pool_size``
    connections; ``prefix`` starts the name of each store's schema."""

    name = "postgresql"

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        prefix: str = "gateway_",
        timeout_seconds: float = 10.0,
    ) -> None:
        self.prefix = prefix
        try:
            dsn, self._statement_seconds = safe_conninfo(dsn, timeout_seconds)
            self._conninfo = dsn  # to keep its password out of messages (``_reason``)
            psycopg.connect(dsn).close()
        except psycopg.Error as exc:
            raise StorageUnavailableError(
                f"cannot reach the PostgreSQL database: {_reason(exc, dsn)}"
            ) from None
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            timeout=timeout_seconds,
            configure=_configure,
            open=False,
            name="gateway",
            # a connection lost while the database is down is retried with a growing
            # wait; giving up after ``timeout_seconds`` keeps that wait short, and the
            # next request that needs a connection starts a fresh attempt
            reconnect_timeout=timeout_seconds,
        )
        try:
            self.pool.open(wait=True, timeout=timeout_seconds)
        except psycopg.Error as exc:
            self.pool.close()
            raise StorageUnavailableError(
                f"cannot reach the PostgreSQL database: {_reason(exc, dsn)}"
            ) from None

    def readiness_problem(self) -> str | None:
        """Why the database cannot serve now (one round trip, waiting at most
        ``READINESS_SECONDS`` for a connection), or ``None``.  A pooled connection found cut
        is dropped and the next one tried, as a transaction does."""
        try:
            wait = min(self.pool.timeout, READINESS_SECONDS)
            with _begun(self.pool, "SELECT 1", self._statement_seconds, timeout=wait):
                return None
        except psycopg.Error as exc:
            reason = (_reason(exc, self._conninfo) or type(exc).__name__).splitlines()
            return f"postgresql database unavailable: {reason[0]}"

    def open(
        self, schema: Schema, path: Path, *, what: str, error: type[GatewayError]
    ) -> PostgresDatabase:
        return PostgresDatabase(
            self.pool,
            f"{self.prefix}{schema.component}",
            schema,
            what=what,
            error=error,
            statement_seconds=self._statement_seconds,
        )

    def close(self) -> None:
        self.pool.close()
