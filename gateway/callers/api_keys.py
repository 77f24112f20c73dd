"""API keys for services: made once, stored only as a hash, with scopes and an expiry.

A key reads ``gwk_<id>_<secret>``: ``id`` is 16 hex digits (public, it names the key in
lists and logs) and ``secret`` is 64 hex digits, 32 random bytes.  Only the SHA-256 of the
secret bytes is stored (a fast hash is enough for a secret with 256 bits of entropy) and
it is compared in constant time.  The key is shown once, when it is made.

Checking a key, in order: its form; the stored key with that id (unknown or a wrong
secret give the same refusal); revocation; expiry.  ``last_used_at`` is written at most
once a minute per key, so checks stay reads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
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
from gateway.embedded_db import EmbeddedDatabase

__all__ = ["KEY_PREFIX", "ApiKey", "ApiKeyStore", "IssuedKey", "looks_like_api_key"]

KEY_PREFIX = "gwk_"
_KEY = re.compile(r"gwk_([0-9a-f]{16})_([0-9a-f]{64})")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
LAST_USED_RESOLUTION = timedelta(minutes=1)

SCHEMA_VERSION = 1
SCHEMA = """
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
"""
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


class ApiKeyStore:
    """API keys in an embedded SQLite database; thread-safe."""

    def __init__(self, path: Path, *, clock: Clock = utcnow) -> None:
        self._db = EmbeddedDatabase(
            path,
            schema=SCHEMA,
            version=SCHEMA_VERSION,
            what="API key store",
            error=CallerStoreError,
        )
        self._clock = clock

    def close(self) -> None:
        self._db.close()

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
        try:
            with self._db.transaction() as db:
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
        except CallerStoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise CallerRequestError(f"an active API key is already named {name!r}") from None
            raise
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
        with self._db.transaction(write=False) as db:
            row = db.execute(_SELECT_ID_WITH_HASH, (key_id,)).fetchone()
        if row is None or not hmac.compare_digest(bytes(row[-1]), _hash(secret)):
            raise AuthenticationError("unknown_key", "unknown API key")
        key = ApiKey.from_row(row[:-1])
        now = self._clock()
        state = key.state(now)
        if state != "active":
            raise AuthenticationError(f"{state}_key", f"API key {key.name} ({key.id}) is {state}")
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            with self._db.transaction() as db:
                db.execute(
                    "UPDATE api_keys SET last_used_at = ? WHERE id = ?", (format_time(now), key.id)
                )
        return Caller(CallerKind.API_KEY, key.id, key.name, key.scopes)


def _hash(secret: str) -> bytes:
    return hashlib.sha256(bytes.fromhex(secret)).digest()
