"""Durable step-up state, one table per concept.

Tables (every ``*_at``/``until`` is UTC text ``YYYY-MM-DDTHH:MM:SS.ffffffZ``)::

    seeds           user_id PK, key_id, nonce, ciphertext, enrolled_at
    replay_guard    user_id PK, last_step      highest TOTP time step accepted
    recovery_codes  user_id, slot (PK both), n, salt, digest, used_at
    failures        user_id, at                refused attempts inside the window
    lockouts        user_id PK, locked_at, until
    step_ups        id PK, user_id, at, method, bound_to
    step_up_uses    step_up_id PK, consumer, at   the one execution a bound step-up let go on

The tables live on the configured storage backend (``gateway.storage``): a SQLite file
by default, or a schema of the shared PostgreSQL database.  Every operation runs in a
transaction; write transactions of the store run one at a time across threads, processes
and hosts, so a time step or recovery code is accepted once however many gateways see
it.  Each commit is durable, so an accepted code stays refused after a crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from gateway.stepup.errors import StepUpStoreError
from gateway.stepup.recovery import HashedCode
from gateway.stepup.seeds import SealedSeed
from gateway.storage import Backend, Connection, Schema, SqliteBackend

__all__ = ["SCHEMA", "SCHEMA_VERSION", "StepUpStore", "Transaction", "format_time", "parse_time"]

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_END_OF_TIME = "9999-12-31T23:59:59.999999Z"  # later than any time in that format
_TABLES = """
CREATE TABLE IF NOT EXISTS seeds (
    user_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL, enrolled_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS replay_guard (
    user_id TEXT PRIMARY KEY, last_step INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS recovery_codes (
    user_id TEXT NOT NULL, slot INTEGER NOT NULL, n INTEGER NOT NULL, salt BLOB NOT NULL,
    digest BLOB NOT NULL, used_at TEXT, PRIMARY KEY (user_id, slot));
CREATE TABLE IF NOT EXISTS failures (user_id TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS failures_by_user ON failures (user_id, at);
CREATE TABLE IF NOT EXISTS lockouts (
    user_id TEXT PRIMARY KEY, locked_at TEXT NOT NULL, until TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS step_ups (
    id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, at TEXT NOT NULL, method TEXT NOT NULL,
    bound_to TEXT);
CREATE INDEX IF NOT EXISTS step_ups_by_user ON step_ups (user_id, at);
CREATE TABLE IF NOT EXISTS step_up_uses (
    step_up_id INTEGER PRIMARY KEY, consumer TEXT NOT NULL, at TEXT NOT NULL);
"""
SCHEMA = Schema("stepup", (_TABLES,))
SCHEMA_VERSION = SCHEMA.version


def format_time(moment: datetime) -> str:
    """UTC with microseconds and ``Z``; text in this form sorts in time order."""
    if moment.tzinfo is None:
        raise TypeError("step-up times must be timezone-aware")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


class Transaction:
    """The operations of one transaction; only valid inside ``StepUpStore.transaction``."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # -- seeds and replay guard ------------------------------------------------------------

    def seed(self, user: str) -> SealedSeed | None:
        row = self._db.execute(
            "SELECT key_id, nonce, ciphertext FROM seeds WHERE user_id = ?", (user,)
        ).fetchone()
        return None if row is None else SealedSeed(row[0], row[1], row[2])

    def put_seed(self, user: str, sealed: SealedSeed, at: datetime) -> bool:
        """Store ``sealed`` as the user's seed and reset the replay guard; True if replaced."""
        replaced = self.seed(user) is not None
        self._db.execute(
            "INSERT INTO seeds (user_id, key_id, nonce, ciphertext, enrolled_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
            "key_id = excluded.key_id, nonce = excluded.nonce, "
            "ciphertext = excluded.ciphertext, enrolled_at = excluded.enrolled_at",
            (user, sealed.key_id, sealed.nonce, sealed.ciphertext, format_time(at)),
        )
        self._db.execute("DELETE FROM replay_guard WHERE user_id = ?", (user,))
        return replaced

    def advance_step(self, user: str, step: int) -> bool:
        """Record ``step`` as accepted; False (and no change) unless it is above the last."""
        cursor = self._db.execute(
            "INSERT INTO replay_guard (user_id, last_step) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET last_step = excluded.last_step "
            "WHERE replay_guard.last_step < excluded.last_step",
            (user, step),
        )
        return cursor.rowcount == 1

    # -- recovery codes --------------------------------------------------------------------

    def replace_recovery_codes(self, user: str, codes: list[HashedCode]) -> int:
        """Replace the user's codes; the number of unused codes invalidated."""
        (unused,) = self._db.execute(
            "SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL", (user,)
        ).fetchone()
        self._db.execute("DELETE FROM recovery_codes WHERE user_id = ?", (user,))
        self._db.executemany(
            "INSERT INTO recovery_codes (user_id, slot, n, salt, digest) VALUES (?, ?, ?, ?, ?)",
            [(user, slot, code.n, code.salt, code.digest) for slot, code in enumerate(codes)],
        )
        return int(unused)

    def unused_recovery_codes(self, user: str) -> list[tuple[int, HashedCode]]:
        rows = self._db.execute(
            "SELECT slot, n, salt, digest FROM recovery_codes "
            "WHERE user_id = ? AND used_at IS NULL ORDER BY slot",
            (user,),
        ).fetchall()
        return [(row[0], HashedCode(row[1], row[2], row[3])) for row in rows]

    def use_recovery_code(self, user: str, slot: int, at: datetime) -> bool:
        """Mark the code in ``slot`` used; False if it already was (or does not exist)."""
        cursor = self._db.execute(
            "UPDATE recovery_codes SET used_at = ? "
            "WHERE user_id = ? AND slot = ? AND used_at IS NULL",
            (format_time(at), user, slot),
        )
        return cursor.rowcount == 1

    # -- failures and lockouts -------------------------------------------------------------

    def locked_until(self, user: str, now: datetime) -> datetime | None:
        row = self._db.execute(
            "SELECT until FROM lockouts WHERE user_id = ? AND until > ?",
            (user, format_time(now)),
        ).fetchone()
        return None if row is None else parse_time(row[0])

    def add_failure(self, user: str, at: datetime, window_start: datetime) -> int:
        """Record a refused attempt; the number of them since ``window_start``."""
        self._db.execute(
            "DELETE FROM failures WHERE user_id = ? AND at <= ?", (user, format_time(window_start))
        )
        self._db.execute(
            "INSERT INTO failures (user_id, at) VALUES (?, ?)", (user, format_time(at))
        )
        (count,) = self._db.execute(
            "SELECT count(*) FROM failures WHERE user_id = ?", (user,)
        ).fetchone()
        return int(count)

    def clear_failures(self, user: str) -> None:
        self._db.execute("DELETE FROM failures WHERE user_id = ?", (user,))

    def lock(self, user: str, at: datetime, until: datetime) -> None:
        self._db.execute(
            "INSERT INTO lockouts (user_id, locked_at, until) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET "
            "locked_at = excluded.locked_at, until = excluded.until",
            (user, format_time(at), format_time(until)),
        )
        self.clear_failures(user)

    # -- step-ups --------------------------------------------------------------------------

    def add_step_up(
        self, user: str, at: datetime, method: str, bound_to: str | None, keep_after: datetime
    ) -> None:
        """Record a step-up and drop the user's step-ups older than ``keep_after``."""
        self._drop_step_ups(user, format_time(keep_after))
        self._db.execute(
            "INSERT INTO step_ups (user_id, at, method, bound_to) VALUES (?, ?, ?, ?)",
            (user, format_time(at), method, bound_to),
        )

    def used_step_up(self, user: str, bound_to: str, since: datetime, consumer: str) -> bool:
        """Whether ``consumer`` already used a step-up of ``user`` bound to ``bound_to``
        and made at ``since`` or later."""
        row = self._db.execute(
            "SELECT 1 FROM step_ups JOIN step_up_uses ON step_up_id = id "
            "WHERE user_id = ? AND bound_to = ? AND step_ups.at >= ? AND consumer = ?",
            (user, bound_to, format_time(since), consumer),
        ).fetchone()
        return row is not None

    def use_step_up(
        self, user: str, bound_to: str, since: datetime, consumer: str, at: datetime
    ) -> datetime | None:
        """Mark the latest unused step-up of ``user`` bound to ``bound_to`` and made at
        ``since`` or later as used by ``consumer``; its time, or ``None`` if there is none.
        A step-up is used at most once (the primary key of ``step_up_uses``)."""
        row = self._db.execute(
            "SELECT id, at FROM step_ups WHERE user_id = ? AND bound_to = ? AND at >= ? "
            "AND id NOT IN (SELECT step_up_id FROM step_up_uses) ORDER BY at DESC, id DESC",
            (user, bound_to, format_time(since)),
        ).fetchone()
        if row is None:
            return None
        self._db.execute(
            "INSERT INTO step_up_uses (step_up_id, consumer, at) VALUES (?, ?, ?)",
            (row[0], consumer, format_time(at)),
        )
        return parse_time(row[1])

    def revoke_step_ups(self, user: str) -> int:
        """Drop every step-up of ``user``, used or not; how many there were."""
        return self._drop_step_ups(user, _END_OF_TIME)

    def _drop_step_ups(self, user: str, before: str) -> int:
        # Row ids can be given again once deleted, so their uses go with them.
        self._db.execute(
            "DELETE FROM step_up_uses WHERE step_up_id IN "
            "(SELECT id FROM step_ups WHERE user_id = ? AND at < ?)",
            (user, before),
        )
        cursor = self._db.execute(
            "DELETE FROM step_ups WHERE user_id = ? AND at < ?", (user, before)
        )
        return cursor.rowcount


class StepUpStore:
    """The step-up tables on a storage backend (a SQLite file at ``path`` unless another
    backend is given); safe to share between threads."""

    def __init__(self, path: Path, *, backend: Backend | None = None) -> None:
        self.path = path
        self._database = (backend or SqliteBackend()).open(
            SCHEMA, path, what="step-up store", error=StepUpStoreError
        )

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Transaction]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._database.transaction(write=write) as db:
            yield Transaction(db)

    def latest_step_up(self, user: str, bound_to: str | None = None) -> datetime | None:
        """The latest step-up of ``user`` (only those bound to ``bound_to`` when given) as
        committed now: one statement outside a transaction (one round trip on
        PostgreSQL, where a read transaction takes three), since every decision asks."""
        if bound_to is None:
            row = self._database.read_latest(
                "SELECT max(at) FROM step_ups WHERE user_id = ?", (user,)
            )
        else:
            row = self._database.read_latest(
                "SELECT max(at) FROM step_ups WHERE user_id = ? AND bound_to = ?",
                (user, bound_to),
            )
        return None if row[0] is None else parse_time(row[0])

    def close(self) -> None:
        self._database.close()
