"""A failed notification never loses or blocks an approval: the outbox and ReliableNotifier."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.notify import (
    FileNotifier,
    Notification,
    NotificationError,
    Outbox,
    ReliableNotifier,
    RetryPolicy,
    SlackNotifier,
    SlackWebhookSettings,
)
from tests.integration.webhook_servers import SECRET, WebhookServer, running_server


def note(title: str, **extra: object) -> Notification:
    return Notification.model_validate(
        {"kind": "approval_requested", "title": title, "text": "please approve", **extra}
    )


class Broken:
    """A notifier that fails the way it is told to."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def send(self, notification: Notification) -> None:
        self.calls += 1
        raise self.error


class Recording:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification.id)


@pytest.fixture
def server() -> Iterator[WebhookServer]:
    yield from running_server()


def test_a_delivered_notification_leaves_nothing_pending(tmp_path: Path) -> None:
    inner = Recording()
    reliable = ReliableNotifier(inner, Outbox(tmp_path / "outbox.sqlite3"))
    first = note("one")
    reliable.send(first)
    assert inner.sent == [first.id]
    assert reliable.outbox.pending() == []
    assert reliable.flush().delivered == ()


def test_failures_survive_a_restart_and_flush_delivers_them_when_the_server_is_back(
    tmp_path: Path, server: WebhookServer
) -> None:
    outbox_path = tmp_path / "var" / "outbox.sqlite3"
    url = server.slack_webhook_url
    port = int(server.base_url.rsplit(":", 1)[1])
    server.stop()
    waits: list[float] = []
    settings = SlackWebhookSettings(webhook_url=url)
    policy = RetryPolicy(max_retries=1)
    with SlackNotifier(settings, retry=policy, sleep=waits.append) as slack:
        now = [1.0]
        reliable = ReliableNotifier(slack, Outbox(outbox_path, clock=lambda: now[0]))
        first, second = note("first"), note("second", fields={"token": "t0k"})
        reliable.send(first)  # never raises
        now[0] = 2.0
        reliable.send(second)
    assert waits == [0.5, 0.5]

    # a new process: new objects over the same file, once the retry delay has passed
    again = Outbox(outbox_path, clock=lambda: 10.0)
    pending = again.pending()
    assert [entry.notification for entry in pending] == [first, second]
    assert [entry.queued_at for entry in pending] == [1.0, 2.0]
    assert pending[0].attempts == 1
    assert pending[0].last_error == (
        "Slack webhook at 127.0.0.1: cannot be reached (ConnectError); gave up after 2 attempts"
    )
    assert SECRET not in outbox_path.read_bytes().decode(errors="replace")

    server.start(port)
    with SlackNotifier(settings, retry=policy, sleep=waits.append) as slack:
        report = ReliableNotifier(slack, again).flush()
    assert report.delivered == (first.id, second.id)
    assert report.pending == ()
    assert [r.body["text"].split("\n")[0] for r in server.requests] == ["first", "second"]


def test_flush_reports_what_is_still_pending(tmp_path: Path) -> None:
    inner = Broken(NotificationError("Teams webhook at example: HTTP 500", retryable=True))
    now = [100.0]
    reliable = ReliableNotifier(inner, Outbox(tmp_path / "o.sqlite3", clock=lambda: now[0]))
    reliable.send(first := note("one"))
    assert reliable.flush().delivered == ()  # not due again for a second
    assert inner.calls == 1
    now[0] += 1
    report = reliable.flush()
    assert report.delivered == ()
    [entry] = report.pending
    assert (entry.notification, entry.attempts) == (first, 2)
    assert entry.last_error == "Teams webhook at example: HTTP 500"


def test_deliver_later_only_queues(tmp_path: Path) -> None:
    inner = Recording()
    reliable = ReliableNotifier(inner, Outbox(tmp_path / "o.sqlite3"), deliver_now=False)
    reliable.send(first := note("one"))
    reliable.send(first)  # the same id is kept once
    assert inner.sent == []
    assert [p.attempts for p in reliable.outbox.pending()] == [0]
    assert reliable.flush().delivered == (first.id,)
    assert inner.sent == [first.id]


def test_an_unexpected_exception_is_kept_by_type_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inner = Broken(KeyError("hooks.slack.com/services/" + SECRET))
    reliable = ReliableNotifier(inner, Outbox(tmp_path / "o.sqlite3"))
    reliable.send(note("one"))
    [entry] = reliable.outbox.pending()
    assert entry.last_error == "unexpected KeyError"
    assert SECRET not in caplog.text


def test_an_unwritable_outbox_still_delivers_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    outbox.close()  # as if its database had gone away
    inner = Recording()
    reliable = ReliableNotifier(inner, outbox)
    reliable.send(first := note("one"))
    assert inner.sent == [first.id]
    assert "not queued:" in caplog.text
    assert "notification outbox failed" in caplog.text

    failing = ReliableNotifier(Broken(NotificationError("down")), outbox)
    failing.send(note("two"))  # lost, but logged, and the approval goes on
    assert "not delivered: down" in caplog.text


def test_an_outbox_that_breaks_after_delivery_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")

    class BreaksTheOutbox:
        def send(self, notification: Notification) -> None:
            outbox.close()

    ReliableNotifier(BreaksTheOutbox(), outbox).send(note("one"))
    assert "outbox not updated" in caplog.text


def test_a_notification_being_delivered_is_not_sent_twice_by_flush(tmp_path: Path) -> None:
    inner = Recording()
    reliable = ReliableNotifier(inner, Outbox(tmp_path / "o.sqlite3"), deliver_now=False)
    reliable.send(first := note("one"))
    reliable._in_flight.add(first.id)  # as if another thread were sending it right now
    report = reliable.flush()
    assert (report.delivered, inner.sent) == ((), [])
    assert [entry.notification.id for entry in report.pending] == [first.id]


def test_a_corrupt_outbox_row_is_reported_by_flush(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    reliable = ReliableNotifier(FileNotifier(tmp_path / "n.jsonl"), Outbox(path))
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO outbox (id, body, queued_at) VALUES ('x', '{}', 0)")
    db.close()
    with pytest.raises(NotificationError, match=r"o.sqlite3: row 'x' is not a notification"):
        reliable.flush()


def test_reprs_name_the_parts(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    reliable = ReliableNotifier(FileNotifier(tmp_path / "n.jsonl"), outbox)
    assert repr(reliable) == f"ReliableNotifier({FileNotifier(tmp_path / 'n.jsonl')!r}, {outbox!r})"
