"""The notification outbox keeps undelivered notifications in a private SQLite file."""

from __future__ import annotations

import stat
from pathlib import Path

from gateway.notify import Notification, NotificationKind, Outbox


def test_the_outbox_file_is_made_readable_by_its_owner_only(
    tmp_path: Path, loose_umask: None
) -> None:
    path = tmp_path / "var" / "notify-outbox.sqlite3"

    outbox = Outbox(path)
    outbox.add(Notification(kind=NotificationKind.DENIED, title="t", text="x"))

    assert [item.notification.title for item in outbox.pending()] == ["t"]
    modes = {item.name: stat.S_IMODE(item.stat().st_mode) for item in path.parent.iterdir()}
    assert modes == {"notify-outbox.sqlite3": 0o600}
