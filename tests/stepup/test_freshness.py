"""How old the last step-up is, for the policy context and for obligations; bindings."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gateway.errors import RequestError
from gateway.policy.decision import StepUpObligation
from gateway.stepup import request_digest
from gateway.storage import Backend
from tests.stepup import DIGEST_A, DIGEST_B, START, Harness, harness

FIVE_MINUTES = StepUpObligation(max_age_seconds=300, policy="account-unlock")


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    subject = harness(tmp_path, storage_backend)
    yield subject
    subject.service.close()


def test_no_step_up_means_no_age_in_the_context(h: Harness) -> None:
    h.enrol()
    assert h.service.last_step_up("alice") is None
    assert h.service.context_for("alice") == {}
    assert not h.service.satisfies(FIVE_MINUTES, "alice")


def test_the_age_of_the_last_step_up_reaches_the_policy_context(h: Harness) -> None:
    enrolment = h.enrol()
    h.clock.advance(5)
    h.service.verify("alice", h.code(enrolment))
    assert h.service.last_step_up("alice") == START + timedelta(seconds=5)
    assert h.service.context_for("alice") == {"step_up_age_seconds": 0}
    h.clock.advance(42.9)
    assert h.service.context_for("alice") == {"step_up_age_seconds": 42}
    later = START + timedelta(hours=1, seconds=5)
    assert h.service.context_for("alice", later) == {"step_up_age_seconds": 3600}


def test_a_step_up_later_than_now_has_age_zero(h: Harness) -> None:
    enrolment = h.enrol()
    h.service.verify("alice", h.code(enrolment))
    assert h.service.context_for("alice", START - timedelta(seconds=10)) == {
        "step_up_age_seconds": 0
    }


def test_an_obligation_is_met_while_the_step_up_is_fresh(h: Harness) -> None:
    enrolment = h.enrol()
    h.service.verify("alice", h.code(enrolment))
    assert h.service.satisfies(FIVE_MINUTES, "alice", START + timedelta(seconds=300))
    assert not h.service.satisfies(FIVE_MINUTES, "alice", START + timedelta(seconds=301))
    assert not h.service.satisfies(FIVE_MINUTES, "bob", START)
    h.clock.advance(300)
    assert h.service.satisfies(FIVE_MINUTES, "alice")


def test_a_naive_now_is_a_caller_bug(h: Harness) -> None:
    with pytest.raises(TypeError, match="timezone-aware"):
        h.service.context_for("alice", datetime(2024, 5, 1))


def test_a_bound_step_up_counts_only_for_its_request(h: Harness) -> None:
    enrolment = h.enrol()
    digest = request_digest("account.unlock", "account:bob", {"ticket": "INC-7"})
    h.service.verify("alice", h.code(enrolment), bound_to=digest)
    assert h.service.satisfies(FIVE_MINUTES, "alice", bound_to=digest)
    assert not h.service.satisfies(FIVE_MINUTES, "alice", bound_to=DIGEST_B)
    assert h.service.satisfies(FIVE_MINUTES, "alice")  # unbound asks: any step-up
    assert h.service.last_step_up("alice", bound_to=digest) == START
    assert h.events[-1].payload == {"method": "totp", "bound_to": digest}


def test_an_unbound_step_up_does_not_count_for_a_bound_request(h: Harness) -> None:
    enrolment = h.enrol()
    h.service.verify("alice", h.code(enrolment))
    assert h.service.satisfies(FIVE_MINUTES, "alice")
    assert not h.service.satisfies(FIVE_MINUTES, "alice", bound_to=DIGEST_A)
    assert h.service.last_step_up("alice", bound_to=DIGEST_A) is None


def test_the_latest_step_up_for_each_binding_is_used(h: Harness) -> None:
    enrolment = h.enrol()
    h.service.verify("alice", h.code(enrolment), bound_to=DIGEST_A)
    h.clock.advance(240)
    h.service.verify("alice", h.code(enrolment), bound_to=DIGEST_B)
    at = START + timedelta(seconds=400)
    assert not h.service.satisfies(FIVE_MINUTES, "alice", at, bound_to=DIGEST_A)
    assert h.service.satisfies(FIVE_MINUTES, "alice", at, bound_to=DIGEST_B)
    assert h.service.context_for("alice", at) == {"step_up_age_seconds": 160}


def test_a_malformed_binding_is_refused_before_anything_happens(h: Harness) -> None:
    enrolment = h.enrol()
    with pytest.raises(RequestError, match="bound_to must be"):
        h.service.verify("alice", h.code(enrolment), bound_to="account.unlock")
    with pytest.raises(RequestError, match="bound_to must be"):
        h.service.satisfies(FIVE_MINUTES, "alice", bound_to="x")
    h.service.verify("alice", h.code(enrolment))


def test_old_step_ups_are_pruned_after_the_history_period(tmp_path: Path) -> None:
    short = harness(tmp_path, history_seconds=60)
    enrolment = short.enrol()
    for _ in range(3):
        short.service.verify("alice", short.code(enrolment))
        short.clock.advance(45)
    with sqlite3.connect(short.settings.database) as db:
        kept = db.execute("SELECT at FROM step_ups ORDER BY at").fetchall()
    db.close()
    assert kept == [("2024-05-01T09:30:45.000000Z",), ("2024-05-01T09:31:30.000000Z",)]
    short.service.close()


def test_the_age_for_a_decision_is_one_read_that_sees_another_gateways_step_up(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolment = h.enrol()
    other = h.reopen()  # another gateway process on the same store
    h.clock.advance(5)
    other.verify("alice", h.code(enrolment))
    database = h.service._store._database
    reads: list[tuple[str, object]] = []
    read_latest = database.read_latest

    def counted(sql: str, parameters: tuple[object, ...] = ()) -> object:
        reads.append((sql, parameters))
        return read_latest(sql, parameters)

    def no_transaction(**_: object) -> object:
        raise AssertionError("a transaction to read the latest step-up")

    monkeypatch.setattr(database, "read_latest", counted)
    monkeypatch.setattr(database, "transaction", no_transaction)
    h.clock.advance(7)
    assert h.service.context_for("alice") == {"step_up_age_seconds": 7}
    assert len(reads) == 1
    assert h.service.last_step_up("alice", bound_to=DIGEST_A) is None
    other.close()
