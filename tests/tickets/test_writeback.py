"""No secret goes into a ticket; the outbox retries with backoff."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.tickets import WriteBackRefusedError
from gateway.tickets.writeback import MAX_TEXT, OutboxPolicy, WriteBack, WriteBackKind, check_text
from tests.tickets.conftest import Desk, generic

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


@pytest.mark.parametrize(
    "text",
    [
        "Your temporary password: Xy7!abcd",
        "password is hunter2",
        "Bearer abcdefghijklmnop",
        "your code is 123456",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc",
    ],
)
def test_texts_that_look_like_they_carry_a_secret_are_refused(text: str) -> None:
    with pytest.raises(WriteBackRefusedError, match="nothing was written"):
        check_text(text)


def test_ordinary_texts_pass_and_long_ones_are_shortened() -> None:
    text = "The password of tom was reset; read it with gateway executions secret."
    assert check_text(text) == text
    long = check_text("x" * (MAX_TEXT + 10))
    assert len(long) == MAX_TEXT - 3
    assert long.endswith(" [text shortened]")


def test_backoff_doubles_up_to_its_cap_and_honours_retry_after() -> None:
    policy = OutboxPolicy(backoff_seconds=2, max_backoff_seconds=60)
    now = datetime(2024, 1, 1, tzinfo=UTC)

    assert (policy.next_try(now, 0, None) - now).total_seconds() == 2
    assert (policy.next_try(now, 3, None) - now).total_seconds() == 16
    assert (policy.next_try(now, 40, None) - now).total_seconds() == 60
    assert (policy.next_try(now, 0, 30) - now).total_seconds() == 30


def test_a_refused_write_back_is_audited_and_never_queued(desk: Desk) -> None:
    desk.service.receive_delivery("generic", generic(1, "tom@example.com", "Hi"), {})
    with desk.service.store.transaction() as tx:
        queued = desk.service.outbox.queue(
            tx, ("embedded:T-1", "embedded", "T-1"), WriteBackKind.COMMENT, "password is Xy7!abcd"
        )

    assert queued is None
    (refused,) = desk.audited("ticket.writeback_refused")
    assert refused.payload == {
        "kind": "comment",
        "reason": (
            "write-back refused: the text looks like it carries a secret; nothing was written"
        ),
    }
    assert b"Xy7!abcd" not in b"\n".join(desk.audit_lines())


def test_write_backs_to_a_ticket_the_desk_lost_fail_and_later_ones_keep_their_order(
    desk: Desk,
) -> None:
    with desk.service.store.transaction() as tx:
        for text in ("first", "second"):
            desk.service.outbox.queue(
                tx, ("embedded:T-9", "embedded", "T-9"), WriteBackKind.WORK_NOTE, text
            )
    report = desk.service.flush_outbox()

    assert report.as_json() == {"delivered": 0, "waiting": 0, "failed": 2}
    with desk.service.store.transaction(write=False) as tx:
        assert [item.state for item in tx.outbox("embedded:T-9")] == ["failed", "failed"]


def test_undelivered_write_backs_give_up_after_the_last_attempt(desk: Desk) -> None:
    class Down:
        name = "down"

        def fetch(self, ticket_id: str) -> object:
            raise AssertionError("not asked")

        def deliver(self, item: WriteBack) -> None:
            from gateway.tickets import HelpDeskUnavailableError

            raise HelpDeskUnavailableError("down: test outage", 1.0)

    desk.service.desks["down"] = Down()  # type: ignore[assignment]
    desk.service.outbox.policy = OutboxPolicy(backoff_seconds=0, max_attempts=2)
    with desk.service.store.transaction() as tx:
        for text in ("one", "two"):
            desk.service.outbox.queue(tx, ("down:T-1", "down", "T-1"), WriteBackKind.COMMENT, text)
    first = desk.service.flush_outbox()
    with desk.service.store.transaction() as tx:
        tx.db.execute("UPDATE outbox SET next_at = '2000-01-01T00:00:00.000000Z'")
    second = desk.service.flush_outbox()

    assert first.as_json() == {"delivered": 0, "waiting": 2, "failed": 0}
    assert desk.service.poll().results == []  # a desk that cannot be polled is not
    assert second.as_json() == {"delivered": 0, "waiting": 1, "failed": 1}
    assert desk.audited("ticket.writeback_failed")[0].payload["attempts"] == 2
