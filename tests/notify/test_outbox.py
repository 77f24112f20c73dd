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
    assert "notify-outbox.sqlite3" in modes
    assert set(modes.values()) == {0o600}  # its -wal and -shm files too


def test_undelivered_notifications_to_a_person_are_erased_in_place(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    to_tom = Notification(
        kind=NotificationKind.EXECUTION, title="Password reset for Tom Becker",
        text="Tom, your password was reset.", recipients=("Tom@Example.com",),
        fields={"device": "tom-laptop"},
    )  # fmt: skip
    to_sam = Notification(kind=NotificationKind.EXECUTION, title="Done", text="Sam, done.",
                          recipients=("sam",))  # fmt: skip
    outbox.add(to_tom)
    outbox.add(to_sam)
    assert outbox.erase_recipient(("tom", "tom@example.com"), dry_run=True) == 1
    assert outbox.pending()[0].notification == to_tom
    assert outbox.erase_recipient(("tom", "tom@example.com")) == 1
    erased, kept = (item.notification for item in outbox.pending())
    assert (erased.title, erased.text, erased.fields) == (
        "(erased)", "(erased)", {"device": "(erased)"},
    )  # fmt: skip
    assert erased.recipients == ("Tom@Example.com",)  # still delivered, with nothing in it
    assert kept == to_sam
    assert outbox.erase_recipient(("tom", "tom@example.com")) == 0
