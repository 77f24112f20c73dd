"""The embedded default: one JSON line per notification, appended to a file and fsynced."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gateway.notify.errors import NotificationError
from gateway.notify.model import Notification

__all__ = ["FileNotifier"]


class FileNotifier:
    """A ``Notifier`` that appends ``notification.model_dump(mode="json")`` to ``path``.

    The parent directory is created on first use, the file readable by its owner only
    (mode 0600); every line is flushed and fsynced before
    ``send`` returns, so a delivered notification survives a crash.
    """

    def __init__(self, path: Path | str = Path("var/notifications.jsonl")) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"FileNotifier({str(self.path)!r})"

    def send(self, notification: Notification) -> None:
        line = json.dumps(notification.model_dump(mode="json"), sort_keys=True) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise NotificationError(
                f"notification file {self.path}: cannot append: {exc.strerror or exc}"
            ) from None
