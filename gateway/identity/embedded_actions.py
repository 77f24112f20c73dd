"""Directory changes for the embedded default: recorded in SQLite, never in the YAML file.

The static directory is read-only sample data; this gives the workflows something real
to change when no LDAP or Okta is configured.  It keeps what each action did (a reset
time, whether a change is required at next logon, locks, disabled accounts, group grants)
but never a password, not even hashed: a simulated directory has no one to log in.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from gateway.audit.records import format_time
from gateway.embedded_db import EmbeddedDatabase
from gateway.errors import DirectoryActionError, UnknownActorError
from gateway.identity.directory import ActionResult, DirectoryConnector

__all__ = ["EmbeddedDirectoryActions"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    user TEXT PRIMARY KEY,
    locked INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    password_set_at TEXT,
    must_change INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS memberships (
    user TEXT NOT NULL,
    grp TEXT NOT NULL,
    PRIMARY KEY (user, grp)
);
"""


class EmbeddedDirectoryActions:
    """``DirectoryActions`` over the users of ``directory``, kept in ``path``."""

    name = "embedded directory"

    def __init__(self, path: Path, directory: DirectoryConnector) -> None:
        self._directory = directory
        self._db = EmbeddedDatabase(
            path, schema=_SCHEMA, version=1, what="embedded directory", error=DirectoryActionError
        )

    def _known(self, action: str, user_id: str) -> None:
        try:
            self._directory.get_user(user_id)
        except UnknownActorError:
            raise DirectoryActionError(f"{action} {user_id!r}: no such user") from None

    def _account(self, db: sqlite3.Connection, user_id: str) -> tuple[int, int]:
        db.execute("INSERT OR IGNORE INTO accounts (user) VALUES (?)", (user_id,))
        locked, enabled = db.execute(
            "SELECT locked, enabled FROM accounts WHERE user = ?", (user_id,)
        ).fetchone()
        return int(locked), int(enabled)

    def reset_password(
        self, user_id: str, new_password: SecretStr, *, must_change: bool = True
    ) -> ActionResult:
        self._known("reset_password", user_id)
        if not new_password.get_secret_value():
            raise DirectoryActionError(f"reset_password {user_id!r}: the new password is empty")
        with self._db.transaction() as db:
            self._account(db, user_id)
            db.execute(
                "UPDATE accounts SET password_set_at = ?, must_change = ? WHERE user = ?",
                (format_time(datetime.now(UTC)), int(must_change), user_id),
            )
        change = " (change required at next logon)" if must_change else ""
        return ActionResult(changed=True, detail=f"password of {user_id} reset{change}")

    def unlock_account(self, user_id: str) -> ActionResult:
        self._known("unlock_account", user_id)
        with self._db.transaction() as db:
            locked, _ = self._account(db, user_id)
            db.execute("UPDATE accounts SET locked = 0 WHERE user = ?", (user_id,))
        if locked:
            return ActionResult(changed=True, detail=f"account {user_id} unlocked")
        return ActionResult(changed=False, detail=f"account {user_id} was not locked")

    def lock_account(self, user_id: str) -> ActionResult:
        """Lock an account (what too many failed logons would do), for demos and tests."""
        self._known("lock_account", user_id)
        with self._db.transaction() as db:
            locked, _ = self._account(db, user_id)
            db.execute("UPDATE accounts SET locked = 1 WHERE user = ?", (user_id,))
        return ActionResult(changed=not locked, detail=f"account {user_id} locked")

    def set_enabled(self, user_id: str, enabled: bool) -> ActionResult:
        self._known("set_enabled", user_id)
        with self._db.transaction() as db:
            _, was = self._account(db, user_id)
            db.execute("UPDATE accounts SET enabled = ? WHERE user = ?", (int(enabled), user_id))
        word = "enabled" if enabled else "disabled"
        return ActionResult(changed=bool(was) != enabled, detail=f"account {user_id} {word}")

    def add_to_group(self, user_id: str, group: str) -> ActionResult:
        self._known("add_to_group", user_id)
        with self._db.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO memberships (user, grp) VALUES (?, ?)", (user_id, group)
            )
        if cursor.rowcount:
            return ActionResult(changed=True, detail=f"{user_id} added to {group}")
        return ActionResult(changed=False, detail=f"{user_id} was already in {group}")

    def remove_from_group(self, user_id: str, group: str) -> ActionResult:
        self._known("remove_from_group", user_id)
        with self._db.transaction() as db:
            cursor = db.execute(
                "DELETE FROM memberships WHERE user = ? AND grp = ?", (user_id, group)
            )
        if cursor.rowcount:
            return ActionResult(changed=True, detail=f"{user_id} removed from {group}")
        return ActionResult(changed=False, detail=f"{user_id} was not in {group}")

    def state(self, user_id: str) -> dict[str, object]:
        """What the simulated directory holds for ``user_id`` (never a password)."""
        with self._db.transaction(write=False) as db:
            row = db.execute(
                "SELECT locked, enabled, password_set_at, must_change FROM accounts WHERE user = ?",
                (user_id,),
            ).fetchone()
            groups = [
                g
                for (g,) in db.execute(
                    "SELECT grp FROM memberships WHERE user = ? ORDER BY grp", (user_id,)
                )
            ]
        locked, enabled, set_at, must_change = row if row is not None else (0, 1, None, 0)
        return {
            "locked": bool(locked),
            "enabled": bool(enabled),
            "password_set_at": set_at,
            "must_change": bool(must_change),
            "granted_groups": groups,
        }

    def close(self) -> None:
        self._db.close()
