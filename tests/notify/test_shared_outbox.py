"""One outbox shared by several gateway processes (on SQLite, processes of one host sharing
the file; on PostgreSQL, processes and hosts sharing the database): each notification is
delivered by the one process that claimed it, a failed one comes back after a delay that
grows, and one that keeps failing is kept as a dead letter."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.notify import Notification, NotificationError, Outbox, ReliableNotifier
from gateway.storage import Backend


def note(title: str, **extra: object) -> Notification:
    return Notification.model_validate(
        {"kind": "approval_requested", "title": title, "text": "please approve", **extra}
    )


class Channel:
    """A channel shared by every process: it counts what it delivered, slowly, and fails
    while ``down``."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.down = False
        self._lock = threading.Lock()

    def send(self, notification: Notification) -> None:
        if self.down:
            raise NotificationError("Slack webhook at hooks.slack.com: HTTP 503")
        time.sleep(0.002)  # the others flush meanwhile
        with self._lock:
            self.sent.append(notification.id)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def outboxes(storage_backend: Backend, tmp_path: Path) -> Iterator[list[Outbox]]:
    """Two processes' outboxes over one store."""
    made = [
        Outbox(tmp_path / "outbox.sqlite3", backend=storage_backend, holder=name, max_attempts=3)
        for name in ("a", "b")
    ]
    yield made
    for outbox in made:
        outbox.close()


def test_processes_flushing_together_deliver_each_notification_once(
    outboxes: list[Outbox],
) -> None:
    channel = Channel()
    notifiers = [ReliableNotifier(channel, outbox, deliver_now=False) for outbox in outboxes]
    queued = [note(f"n{number}") for number in range(30)]
    for number, item in enumerate(queued):
        notifiers[number % 2].send(item)
    assert len(outboxes[0].pending()) == 30  # one outbox, whoever queued

    barrier = threading.Barrier(4)
    reports = []

    def flush(notifier: ReliableNotifier) -> None:
        barrier.wait()
        reports.append(notifier.flush())

    threads = [threading.Thread(target=flush, args=(n,)) for n in notifiers * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(channel.sent) == sorted(item.id for item in queued)  # each once
    delivered = [name for report in reports for name in report.delivered]
    assert sorted(delivered) == sorted(channel.sent)
    assert outboxes[1].pending() == []


def test_a_notification_sent_by_one_process_is_not_taken_by_another_meanwhile(
    outboxes: list[Outbox],
) -> None:
    first, second = outboxes
    item = note("one")
    assert first.add(item, claim=True)  # the first is delivering it
    assert not second.add(item, claim=True)  # the same id sent again elsewhere
    assert second.claim() == []
    first.delivered(item.id)
    assert second.pending() == []


def test_a_claim_of_a_process_that_died_is_taken_over_when_it_expires(
    storage_backend: Backend, tmp_path: Path
) -> None:
    clock = Clock()
    dead, alive = (
        Outbox(tmp_path / "o.sqlite3", backend=storage_backend, holder=name, clock=clock,
               claim_seconds=60)
        for name in ("dead", "alive")
    )  # fmt: skip
    dead.add(item := note("one"), claim=True)  # and then the process was killed
    assert alive.claim() == []
    clock.now += 61
    assert [entry.notification for entry in alive.claim()] == [item]
    dead.close()
    alive.close()


def test_failures_come_back_later_each_time_and_end_as_dead_letters(
    storage_backend: Backend, tmp_path: Path
) -> None:
    clock = Clock()
    outbox = Outbox(tmp_path / "o.sqlite3", backend=storage_backend, clock=clock, max_attempts=3)
    channel = Channel()
    channel.down = True
    notifier = ReliableNotifier(channel, outbox)
    notifier.send(item := note("one", recipients=["tom"]))
    assert notifier.flush().delivered == ()
    clock.now += 0.5
    assert outbox.claim() == []  # due 1 s after the first failure
    clock.now += 0.5
    assert notifier.flush().pending[0].attempts == 2
    clock.now += 1.5
    assert outbox.claim() == []  # then 2 s
    clock.now += 0.5
    report = notifier.flush()  # the third failure: given up

    assert report.pending == ()
    [dead] = outbox.dead_letters()
    assert (dead.notification, dead.attempts, dead.dead_at) == (item, 3, clock.now)
    assert dead.last_error == "Slack webhook at hooks.slack.com: HTTP 503"
    channel.down = False
    clock.now += 3600
    assert notifier.flush().delivered == ()  # a dead letter is never sent on its own
    assert outbox.erase_recipient(["tom"]) == 1  # but still erasable
    assert outbox.dead_letters()[0].notification.title == "(erased)"
    outbox.failed("gone", "a notification that is not there")  # nothing to count
    assert outbox.revive() == 1  # the channel was fixed
    assert notifier.flush().delivered == (item.id,)
    assert (outbox.pending(), outbox.dead_letters()) == ([], [])
    outbox.close()
