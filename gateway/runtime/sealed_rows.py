"""Sealed secret outputs in the store: ciphertext only (``sealing`` holds the key), read
once and purged when they expire."""

from __future__ import annotations

from datetime import datetime

from gateway.audit.records import format_time
from gateway.storage import Connection

__all__ = ["SealedRows"]


class SealedRows:
    """The ``sealed_outputs`` rows of one store transaction."""

    db: Connection

    def seal(
        self, execution_id: str, name: str, nonce: bytes, ciphertext: bytes, expires: datetime
    ) -> None:
        self.db.execute(
            "INSERT INTO sealed_outputs (execution_id, name, nonce, ciphertext, expires_at)"
            " VALUES (?,?,?,?,?) ON CONFLICT (execution_id, name) DO UPDATE SET"
            " nonce = excluded.nonce, ciphertext = excluded.ciphertext,"
            " expires_at = excluded.expires_at",
            (execution_id, name, nonce, ciphertext, format_time(expires)),
        )

    def take_sealed(self, execution_id: str, name: str) -> tuple[bytes, bytes, datetime] | None:
        """The sealed output, deleted as it is read: it can be read once."""
        row = self.db.execute(
            "SELECT nonce, ciphertext, expires_at FROM sealed_outputs"
            " WHERE execution_id = ? AND name = ?",
            (execution_id, name),
        ).fetchone()
        if row is None:
            return None
        self.db.execute(
            "DELETE FROM sealed_outputs WHERE execution_id = ? AND name = ?", (execution_id, name)
        )
        return (
            bytes(row["nonce"]),
            bytes(row["ciphertext"]),
            datetime.fromisoformat(row["expires_at"]),
        )

    def purge_sealed(self, now: datetime) -> int:
        cursor = self.db.execute(
            "DELETE FROM sealed_outputs WHERE expires_at <= ?", (format_time(now),)
        )
        return cursor.rowcount
