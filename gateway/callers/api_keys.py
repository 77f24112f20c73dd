"""API keys for services: made once, stored only as a hash, with scopes and an expiry.

A key reads ``gwk_<id>_<secret>``: ``id`` is 16 hex digits (public, it names the key in
lists and logs) and ``secret`` is 64 hex digits, 32 random bytes.  Only the SHA-256 of the
secret bytes is stored (a fast hash is enough for a secret with 256 bits of entropy) and
it is compared in constant time.  The key is shown once, when it is made.

Checking a key, in order: its form; the stored key with that id (unknown or a wrong
secret give the same refusal); revocation; expiry.  ``last_used_at`` is written at most
once a minute per key (per process), so checks stay reads.

The keys live on the configured storage backend (``gateway.storage``): a SQLite file by
default, or the ``callers`` schema of the shared PostgreSQL database, so a key issued or
revoked through one gateway process is seen by every other.  A process remembers the keys
it has checked (their hash, scopes and times, never the secret), each under the store's
revocation ``generation``, which every revocation raises in its own transaction.  Each check
of a remembered key reads that one number (one round trip: ``Database.read_latest``): while
it is unchanged since the key was read, the key is checked in memory;
once any process has revoked any key, every remembered key is read again, so a revoked key
is never accepted, not even by a process that checked it a moment before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import SecretStr

from gateway.audit.records import format_time
from gateway.callers.caller import Caller, CallerKind
from gateway.callers.errors import AuthenticationError, CallerRequestError, CallerStoreError
from gateway.callers.scopes import check_scopes
from gateway.clock import Clock, utcnow
from gateway.storage import (
    Backend,
    Connection,
    Schema,
    SqliteBackend,
    StorageSettings,
    open_backend,
)

__all__ = ["KEY_PREFIX", "SCHEMA", "ApiKey", "ApiKeyStore", "IssuedKey", "looks_like_api_key"]

KEY_PREFIX = "gwk_"
_KEY = re.compile(r"gwk_([0-9a-f]{16})_([0-9a-f]{64})")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
LAST_USED_RESOLUTION = timedelta(minutes=1)
_REMEMBERED = 4096  # keys checked and kept in memory, at most

SCHEMA = Schema(
    "callers",
    (
        """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_active_name ON api_keys (name)
    WHERE revoked_at IS NULL;
""",
        """
CREATE TABLE IF NOT EXISTS generation (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO generation (name, value) VALUES ('revocations', 0) ON CONFLICT (name) DO NOTHING;
""",
    ),
)
_GENERATION = "SELECT value FROM generation WHERE name = 'revocations'"
_SELECT_ALL = (
    "SELECT id, name, scopes, created_at, expires_at, last_used_at, revoked_at FROM api_keys "
    "ORDER BY created_at, id"
)
_SELECT_ACTIVE_NAME = (
    "SELECT id, name, scopes, created_at, expires_at, last_used_at, revoked_at FROM api_keys "
    "WHERE name = ? AND revoked_at IS NULL"
)
_SELECT_ID = (
    "SELECT id, name, scopes, created_at, expires_at, last_used_at, revoked_at FROM api_keys "
    "WHERE id = ?"
)
_SELECT_ID_WITH_HASH = (
    "SELECT id, name, scopes, created_at, expires_at, last_used_at, revoked_at, "
    "secret_sha256 FROM api_keys WHERE id = ?"
)


def looks_like_api_key(credential: str) -> bool:
    """Whether a bearer credential is meant as an API key rather than a token."""
    return credential.startswith(KEY_PREFIX)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key, without its secret."""

    id: str
    name: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def state(self, now: datetime) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"

    @classmethod
    def from_row(cls, row: tuple[str, str, str, str, str | None, str | None, str | None]) -> ApiKey:
        key_id, name, scopes, created, expires, used, revoked = row
        return cls(
            id=key_id,
            name=name,
            scopes=frozenset(json.loads(scopes)),
            created_at=datetime.fromisoformat(created),
            expires_at=_time(expires),
            last_used_at=_time(used),
            revoked_at=_time(revoked),
        )


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key and, once, its full text (``gwk_<id>_<secret>``)."""

    key: ApiKey
    secret: SecretStr


@dataclass(frozen=True, slots=True)
class _Checked:
    """A key this process has checked: what it needs to check it again in memory."""

    key: ApiKey
    secret_sha256: bytes
    generation: int


class ApiKeyStore:
    """API keys on ``backend`` (the SQLite file at ``path`` when not given); thread-safe."""

    def __init__(
        self, path: Path, *, backend: Backend | None = None, clock: Clock = utcnow
    ) -> None:
        backend = backend if backend is not None else SqliteBackend()
        self._db = backend.open(SCHEMA, path, what="API key store", error=CallerStoreError)
        self._clock = clock
        self._checked: dict[str, _Checked] = {}
        self._lock = threading.Lock()
        self._owned: Backend | None = None

    @classmethod
    def configured(cls, path: Path, storage: StorageSettings) -> ApiKeyStore:
        """The store on the backend ``storage`` configures, opened for this store alone
        (a command outside a serving gateway) and closed with it."""
        backend = open_backend(storage)
        try:
            store = cls(path, backend=backend)
        except BaseException:
            backend.close()
            raise
        store._owned = backend
        return store

    def close(self) -> None:
        self._db.close()
        if self._owned is not None:
            self._owned.close()

    def create(
        self,
        name: str,
        scopes: Iterable[str],
        *,
        expires_in: timedelta | None = None,
        before_commit: Callable[[ApiKey], object] | None = None,
    ) -> IssuedKey:
        """A new key named ``name`` granting ``scopes``; names are unique among active keys.

        ``before_commit`` (the audit record of the change) is called with the new key
        inside the transaction, after its row is written and before it is committed: if it
        raises, the key is not kept."""
        if not _NAME.fullmatch(name):
            raise CallerRequestError(
                "API key name must be 1 to 64 of a-z, 0-9, '.', '_' or '-', starting with a "
                "letter or digit"
            )
        granted = check_scopes(scopes, for_api_key=True)
        if not granted:
            raise CallerRequestError("an API key needs at least one scope")
        if expires_in is not None and expires_in <= timedelta(0):
            raise CallerRequestError("an API key's lifetime must be positive")
        now = self._clock()
        key = ApiKey(
            id=secrets.token_hex(8),
            name=name,
            scopes=granted,
            created_at=now,
            expires_at=now + expires_in if expires_in is not None else None,
        )
        secret = secrets.token_hex(32)
        with self._db.transaction() as db:
            if db.execute(_SELECT_ACTIVE_NAME, (name,)).fetchone() is not None:
                raise CallerRequestError(f"an active API key is already named {name!r}")
            db.execute(
                "INSERT INTO api_keys (id, name, secret_sha256, scopes, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key.id,
                    name,
                    _hash(secret),
                    json.dumps(sorted(granted)),
                    format_time(now),
                    format_time(key.expires_at) if key.expires_at is not None else None,
                ),
            )
            if before_commit is not None:
                before_commit(key)
        return IssuedKey(key, SecretStr(f"{KEY_PREFIX}{key.id}_{secret}"))

    def list_keys(self) -> list[ApiKey]:
        """Every key, revoked and expired ones included, oldest first."""
        with self._db.transaction(write=False) as db:
            rows = db.execute(_SELECT_ALL)
            return [ApiKey.from_row(row) for row in rows.fetchall()]

    def revoke(
        self, id_or_name: str, *, before_commit: Callable[[ApiKey], object] | None = None
    ) -> ApiKey:
        """Revoke the active key with this name, or the key with this id; idempotent.

        ``before_commit`` is called with the revoked key before the revocation is
        committed (not for a key already revoked): if it raises, the key stays active."""
        now = self._clock()
        with self._db.transaction() as db:
            row = db.execute(_SELECT_ACTIVE_NAME, (id_or_name,)).fetchone()
            if row is None:
                row = db.execute(_SELECT_ID, (id_or_name,)).fetchone()
            if row is None:
                raise CallerRequestError(f"no API key is named or numbered {id_or_name!r}")
            key = ApiKey.from_row(row)
            if key.revoked_at is not None:
                return key
            db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ?", (format_time(now), key.id)
            )
            db.execute("UPDATE generation SET value = value + 1 WHERE name = 'revocations'")
            revoked = replace(key, revoked_at=now)
            if before_commit is not None:
                before_commit(revoked)
        return revoked

    def authenticate(self, presented: str) -> Caller:
        """The service holding ``presented``, or ``AuthenticationError``."""
        match = _KEY.fullmatch(presented)
        if match is None:
            raise AuthenticationError("malformed_key", "API key is malformed")
        key_id, secret = match.groups()
        checked = self._check(key_id)
        if checked is None or not hmac.compare_digest(checked.secret_sha256, _hash(secret)):
            raise AuthenticationError("unknown_key", "unknown API key")
        key = checked.key
        now = self._clock()
        state = key.state(now)
        if state != "active":
            raise AuthenticationError(f"{state}_key", f"API key {key.name} ({key.id}) is {state}")
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            with self._db.transaction() as db:
                db.execute(
                    "UPDATE api_keys SET last_used_at = ? WHERE id = ?", (format_time(now), key.id)
                )
            self._remember(key_id, replace(checked, key=replace(key, last_used_at=now)))
        return Caller(CallerKind.API_KEY, key.id, key.name, key.scopes)

    def _check(self, key_id: str) -> _Checked | None:
        """The key ``key_id`` as stored now: from memory while no key has been revoked
        since it was read (the generation, read first, says so), else read again."""
        checked = self._checked.get(key_id)
        if checked is not None and checked.generation == int(self._db.read_latest(_GENERATION)[0]):
            return checked  # one round trip: no revocation committed since it was read
        with self._db.transaction(write=False) as db:
            generation = _generation(db)
            row = db.execute(_SELECT_ID_WITH_HASH, (key_id,)).fetchone()
        if row is None:
            return None
        found = _Checked(ApiKey.from_row(row[:-1]), bytes(row[-1]), generation)
        self._remember(key_id, found)
        return found

    def _remember(self, key_id: str, checked: _Checked) -> None:
        with self._lock:
            if len(self._checked) >= _REMEMBERED:
                self._checked.clear()
            self._checked[key_id] = checked


def _generation(db: Connection) -> int:
    row = db.execute(_GENERATION).fetchone()
    return int(row[0])


def _hash(secret: str) -> bytes:
    return hashlib.sha256(bytes.fromhex(secret)).digest()
