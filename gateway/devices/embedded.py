"""The embedded device manager: installs recorded in SQLite, as an MDM would report them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gateway.audit.records import format_time
from gateway.devices.installer import InstallResult
from gateway.embedded_db import EmbeddedDatabase
from gateway.errors import ActionFailedError

__all__ = ["EmbeddedDeviceManager"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS installs (
    device TEXT NOT NULL,
    title TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    PRIMARY KEY (device, title)
);
"""


class EmbeddedDeviceManager:
    """A simulated MDM; devices are named ``<owner>-<kind>`` (``tom-laptop``)."""

    name = "embedded device manager"

    def __init__(self, path: Path) -> None:
        self._db = EmbeddedDatabase(
            path,
            schema=_SCHEMA,
            version=1,
            what="embedded device manager",
            error=ActionFailedError,
        )

    def install(self, device: str, title: str) -> InstallResult:
        if not device:
            raise ActionFailedError("install: no device named")
        with self._db.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO installs VALUES (?, ?, ?)",
                (device, title, format_time(datetime.now(UTC))),
            )
        if cursor.rowcount:
            return InstallResult(changed=True, detail=f"{title} installed on {device}")
        return InstallResult(changed=False, detail=f"{title} was already on {device}")

    def uninstall(self, device: str, title: str) -> InstallResult:
        with self._db.transaction() as db:
            cursor = db.execute(
                "DELETE FROM installs WHERE device = ? AND title = ?", (device, title)
            )
        if cursor.rowcount:
            return InstallResult(changed=True, detail=f"{title} removed from {device}")
        return InstallResult(changed=False, detail=f"{title} was not on {device}")

    def installed(self, device: str) -> list[str]:
        with self._db.transaction(write=False) as db:
            rows = db.execute(
                "SELECT title FROM installs WHERE device = ? ORDER BY title", (device,)
            ).fetchall()
        return [str(title) for (title,) in rows]

    def close(self) -> None:
        self._db.close()
