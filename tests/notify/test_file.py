"""The embedded default notifier: one fsynced JSON line per notification."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from gateway.notify import FileNotifier, Notification, NotificationError, NotificationKind


def test_each_notification_is_one_json_line(tmp_path: Path) -> None:
    path = tmp_path / "var" / "notifications.jsonl"
    notifier = FileNotifier(path)
    first = Notification(kind=NotificationKind.APPROVED, title="Approved", text="ok",
                         recipients=("alice",), fields={"token": "t0k"})  # fmt: skip
    second = Notification(kind=NotificationKind.EXPIRED, title="Expired", text="too late")
    notifier.send(first)
    notifier.send(second)
    lines = path.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [first.id, second.id]
    assert json.loads(lines[0])["fields"] == {"token": "[redacted]"}
    assert json.loads(lines[0])["kind"] == "approved"
    assert "t0k" not in path.read_text()
    assert repr(notifier) == f"FileNotifier({str(path)!r})"


def test_an_unwritable_file_is_a_notification_error(tmp_path: Path) -> None:
    notifier = FileNotifier(tmp_path)  # a directory
    with pytest.raises(NotificationError, match=r"notification file .*: cannot append: "):
        notifier.send(Notification(kind=NotificationKind.DENIED, title="t", text="x"))


def test_the_default_path_is_under_var() -> None:
    assert FileNotifier().path == Path("var/notifications.jsonl")


def test_the_notification_file_is_made_readable_by_its_owner_only(
    tmp_path: Path, loose_umask: None
) -> None:
    path = tmp_path / "var" / "notifications.jsonl"

    FileNotifier(path).send(Notification(kind=NotificationKind.DENIED, title="t", text="x"))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
