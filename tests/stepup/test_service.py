"""Enrolment, TOTP verification, replay protection, lockout and restarts."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import cast
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from gateway.errors import RequestError
from gateway.stepup import (
    CodeRejectedError,
    MalformedCodeError,
    NotEnrolledError,
    StepUpError,
    StepUpLockedError,
    StepUpService,
    StepUpSettings,
    StepUpStoreError,
)
from gateway.stepup.recovery import normalise_code
from gateway.storage import Backend
from tests.stepup import START, Harness, code_at, elsewhere, fast_settings, harness


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    subject = harness(tmp_path, storage_backend)
    yield subject
    subject.service.close()


def _files_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.iterdir()))


# -- enrolment ---------------------------------------------------------------------------


def test_enrolment_gives_a_uri_with_issuer_and_secret(h: Harness) -> None:
    enrolment = h.enrol("alice")
    seed = enrolment.seed.get_secret_value()
    parts = urlsplit(enrolment.provisioning_uri.get_secret_value())
    assert parts.scheme == "otpauth"
    assert unquote(parts.path) == "/IT Support Gateway:alice"
    assert parse_qs(parts.query)["secret"] == [seed]
    assert parse_qs(parts.query)["issuer"] == ["IT Support Gateway"]
    assert len(enrolment.recovery_codes) == 10
    assert (enrolment.user, enrolment.enrolled_at, enrolment.replaced) == ("alice", START, False)
    assert h.service.is_enrolled("alice")
    assert not h.service.is_enrolled("bob")
    h.service.verify("alice", h.code(enrolment))


def test_the_seed_and_recovery_codes_never_reach_the_store_in_clear(tmp_path: Path) -> None:
    h = harness(tmp_path)  # the bytes of the SQLite files
    enrolment = h.enrol("alice")
    seed = enrolment.seed.get_secret_value()
    stored = _files_bytes(h.settings.database.parent)
    assert stored  # the database and its write-ahead log
    assert seed.encode() not in stored
    assert seed.lower().encode() not in stored
    assert base64.b32decode(seed) not in stored
    for code in enrolment.recovery_codes:
        assert code.get_secret_value().encode() not in stored
        assert normalise_code(code.get_secret_value()).encode() not in stored


def test_the_store_and_key_are_private_files(tmp_path: Path) -> None:
    h = harness(tmp_path)
    h.enrol("alice")
    assert h.settings.database.stat().st_mode & 0o077 == 0
    assert h.settings.seed_key_file.stat().st_mode & 0o777 == 0o600


def test_re_enrolment_replaces_the_seed_and_the_recovery_codes(h: Harness) -> None:
    first = h.enrol("alice")
    second = h.enrol("alice")
    assert second.replaced
    assert second.seed.get_secret_value() != first.seed.get_secret_value()
    old_code = h.code(first)
    if old_code != h.code(second):  # one in a million they coincide
        with pytest.raises(CodeRejectedError, match="wrong or expired"):
            h.service.verify("alice", old_code)
    with pytest.raises(CodeRejectedError, match="recovery code is wrong or already used"):
        h.service.verify_recovery_code("alice", first.recovery_codes[0].get_secret_value())
    h.service.verify("alice", h.code(second))
    h.service.verify_recovery_code("alice", second.recovery_codes[0].get_secret_value())
    (reset,) = [event for event in h.events if event.type == "stepup.reset"]
    assert (reset.actor, reset.resource) == ("alice", "account:alice")
    assert reset.payload == {
        "user": "alice",
        "method": "totp",
        "replaced": True,
        "recovery_issued": 10,
        "recovery_invalidated": 10,
        "step_ups_revoked": 0,
    }


def test_re_enrolment_lets_the_new_seed_work_in_the_same_time_step(h: Harness) -> None:
    first = h.enrol("alice")
    h.service.verify("alice", h.code(first, 1))  # the replay guard is now one step ahead
    second = h.enrol("alice")
    h.service.verify("alice", h.code(second))


@pytest.mark.parametrize(
    "user",
    ["", "x" * 257, "alice\n", "\ud800", cast(str, None)],
    ids=["empty", "too long", "a control character", "a lone surrogate", "not a string"],
)
def test_a_bad_user_id_is_refused(h: Harness, user: str) -> None:
    with pytest.raises(RequestError, match="user id must be 1 to 256 printable characters"):
        h.service.enrol(user)
    with pytest.raises(RequestError):
        h.service.verify(user, "123456")
    with pytest.raises(RequestError):
        h.service.verify_recovery_code(user, "123456")


# -- verification --------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-1, 0, 1], ids=["a step early", "now", "a step late"])
def test_a_code_one_step_away_is_accepted(h: Harness, offset: int) -> None:
    enrolment = h.enrol()
    h.clock.advance(7)
    h.service.verify("alice", h.code(enrolment, offset))
    assert h.service.last_step_up("alice") == h.clock.now


@pytest.mark.parametrize("offset", [-2, 2], ids=["two steps early", "two steps late"])
def test_a_code_two_steps_away_is_refused(h: Harness, offset: int) -> None:
    enrolment = h.enrol()
    code = h.code(enrolment, offset)
    with pytest.raises(CodeRejectedError) as caught:
        h.service.verify("alice", code)
    assert caught.value.reason == "wrong_code"
    assert code not in str(caught.value)
    assert h.service.last_step_up("alice") is None


def test_a_wider_window_accepts_more_steps(tmp_path: Path) -> None:
    wide = harness(tmp_path, valid_window=2)
    enrolment = wide.enrol()
    wide.service.verify("alice", wide.code(enrolment, -2))
    wide.service.close()


def test_an_accepted_code_is_refused_afterwards(h: Harness) -> None:
    enrolment = h.enrol()
    code = h.code(enrolment)
    h.service.verify("alice", code)
    with pytest.raises(CodeRejectedError, match="already used; wait for the next one") as caught:
        h.service.verify("alice", code)
    assert caught.value.reason == "replayed"
    h.clock.advance(30)  # the same code is still inside the window, one step back
    with pytest.raises(CodeRejectedError, match="already used"):
        h.service.verify("alice", code)
    h.service.verify("alice", h.code(enrolment))


def test_an_older_code_is_refused_after_a_newer_one(h: Harness) -> None:
    enrolment = h.enrol()
    h.service.verify("alice", h.code(enrolment))
    with pytest.raises(CodeRejectedError, match="already used"):
        h.service.verify("alice", h.code(enrolment, -1))


def test_replay_protection_is_per_user(h: Harness) -> None:
    alice, bob = h.enrol("alice"), h.enrol("bob")
    h.service.verify("alice", h.code(alice))
    h.service.verify("bob", h.code(bob))


def test_a_malformed_code_is_refused_and_counted(h: Harness) -> None:
    h.enrol()
    with pytest.raises(MalformedCodeError, match="exactly 6 ASCII digits"):
        h.service.verify("alice", "12 456")
    assert h.events[-1].payload == {"method": "totp", "reason": "malformed", "failures": 1}


def test_a_user_without_enrolment_is_refused_but_not_counted(h: Harness) -> None:
    for _ in range(h.settings.max_failures + 1):
        with pytest.raises(NotEnrolledError, match="user 'bob' is not enrolled for step-up"):
            h.service.verify("bob", "123456")
    assert h.service.locked_until("bob") is None
    assert h.events[-1].payload == {"method": "totp", "reason": "not_enrolled"}


def test_a_naive_clock_is_a_caller_bug(tmp_path: Path) -> None:
    service = StepUpService.open(fast_settings(tmp_path), clock=lambda: datetime(2024, 5, 1))
    with pytest.raises(TypeError, match="timezone-aware"):
        service.enrol("alice")
    service.close()


def test_the_service_opens_with_the_default_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    service = StepUpService.open()
    assert service.settings == StepUpSettings()
    assert (tmp_path / "var" / "stepup.db").exists()
    assert (tmp_path / "keys" / "stepup-seeds.key").exists()
    assert service.locked_until("x") is None
    service.close()


# -- lockout -------------------------------------------------------------------------------


def test_five_failures_lock_step_up_until_the_lockout_ends(h: Harness) -> None:
    enrolment = h.enrol()
    for failure in range(1, 5):
        with pytest.raises(CodeRejectedError):
            h.service.verify("alice", h.wrong(enrolment))
        assert h.events[-1].payload["failures"] == failure
        h.clock.advance(60)
    with pytest.raises(StepUpLockedError) as caught:
        h.service.verify("alice", h.wrong(enrolment))
    until = h.clock.now.replace(minute=h.clock.now.minute + 15)
    assert caught.value.until == until
    assert str(caught.value) == (
        f"5 failed step-ups: locked for 'alice' until {until:%Y-%m-%dT%H:%M:%S.%f}Z"
    )
    assert h.types()[-2:] == ["stepup.failed", "stepup.locked"]
    assert h.service.locked_until("alice") == until

    h.clock.advance(15 * 60 - 1)
    events = len(h.events)
    with pytest.raises(StepUpLockedError, match="step-up is locked for 'alice' until"):
        h.service.verify("alice", h.code(enrolment))  # even a right code is not looked at
    with pytest.raises(StepUpLockedError):
        h.service.verify("alice", "not a code")  # nor a malformed one
    with pytest.raises(StepUpLockedError):
        h.service.verify_recovery_code("alice", enrolment.recovery_codes[0].get_secret_value())
    assert [event.payload["reason"] for event in h.events[events:]] == ["locked"] * 3

    h.clock.advance(1)
    assert h.service.locked_until("alice") is None
    h.service.verify("alice", h.code(enrolment))


def test_failures_outside_the_window_do_not_add_up(h: Harness) -> None:
    enrolment = h.enrol()
    for _ in range(2):
        for _ in range(4):
            with pytest.raises(CodeRejectedError):
                h.service.verify("alice", h.wrong(enrolment))
        h.clock.advance(15 * 60)
    assert h.events[-1].payload["failures"] == 4


def test_a_success_clears_the_failures(h: Harness) -> None:
    enrolment = h.enrol()
    for round_ in range(2):
        for _ in range(4):
            with pytest.raises(CodeRejectedError):
                h.service.verify("alice", h.wrong(enrolment))
        h.service.verify("alice", h.code(enrolment, round_))
    assert h.service.locked_until("alice") is None


def test_a_failure_after_a_lockout_starts_counting_again(h: Harness) -> None:
    enrolment = h.enrol()
    for _ in range(5):
        with pytest.raises(StepUpError):
            h.service.verify("alice", h.wrong(enrolment))
    h.clock.advance(15 * 60)
    with pytest.raises(CodeRejectedError):
        h.service.verify("alice", h.wrong(enrolment))
    assert h.events[-1].payload["failures"] == 1


def test_limits_are_configurable(tmp_path: Path) -> None:
    strict = harness(tmp_path, max_failures=2, lockout_seconds=60)
    enrolment = strict.enrol()
    with pytest.raises(CodeRejectedError):
        strict.service.verify("alice", strict.wrong(enrolment))
    with pytest.raises(StepUpLockedError) as caught:
        strict.service.verify("alice", strict.wrong(enrolment))
    assert (caught.value.until - strict.clock.now).total_seconds() == 60
    strict.service.close()


def test_lockouts_are_per_user(h: Harness) -> None:
    alice, bob = h.enrol("alice"), h.enrol("bob")
    for _ in range(5):
        with pytest.raises(StepUpError):
            h.service.verify("alice", h.wrong(alice))
    h.service.verify("bob", h.code(bob))


# -- seeds bound to their user ---------------------------------------------------------------


def test_a_seed_row_copied_to_another_user_is_refused(h: Harness) -> None:
    alice = h.enrol("alice")
    h.enrol("mallory")
    ((nonce, ciphertext),) = elsewhere(
        h, "SELECT nonce, ciphertext FROM seeds WHERE user_id = 'alice'"
    )
    elsewhere(
        h,
        "UPDATE seeds SET nonce = ?, ciphertext = ? WHERE user_id = 'mallory'",
        (nonce, ciphertext),
    )
    with pytest.raises(StepUpStoreError, match="stored seed of 'mallory' does not decrypt"):
        h.service.verify("mallory", h.code(alice))
    assert h.events[-1].payload == {"method": "totp", "reason": "seed_unreadable"}
    assert h.service.last_step_up("mallory") is None


def test_a_seed_sealed_under_another_key_is_refused(tmp_path: Path) -> None:
    first = harness(tmp_path)
    enrolment = first.enrol()
    first.service.close()
    first.settings.seed_key_file.unlink()
    second = harness(tmp_path)
    with pytest.raises(StepUpStoreError, match="sealed by key"):
        second.service.verify("alice", second.code(enrolment))
    second.service.close()


# -- durability and concurrency --------------------------------------------------------------


def test_state_survives_a_restart(h: Harness) -> None:
    enrolment = h.enrol()
    code = h.code(enrolment)
    h.service.verify("alice", code, bound_to=None)
    h.service.close()
    h.service = h.reopen()
    assert h.service.is_enrolled("alice")
    assert h.service.last_step_up("alice") == START
    with pytest.raises(CodeRejectedError, match="already used"):
        h.service.verify("alice", code)  # a refused replay counts as a failure
    for _ in range(3):
        with pytest.raises(CodeRejectedError):
            h.service.verify("alice", h.wrong(enrolment))
    h.service.close()
    h.service = h.reopen()
    with pytest.raises(StepUpLockedError):
        h.service.verify("alice", h.wrong(enrolment))
    h.service.close()
    h.service = h.reopen()
    assert h.service.locked_until("alice") is not None


def test_two_threads_with_the_same_code_succeed_exactly_once(h: Harness) -> None:
    enrolment = h.enrol()
    code = h.code(enrolment)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            h.service.verify("alice", code)
        except CodeRejectedError as exc:
            outcomes.append(exc.reason)
        else:
            outcomes.append("ok")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "replayed"]


def test_eight_services_on_one_store_succeed_exactly_once(tmp_path: Path) -> None:
    h = harness(tmp_path, max_failures=100)
    enrolment = h.enrol()
    code = h.code(enrolment)
    services = [h.reopen() for _ in range(8)]
    barrier = threading.Barrier(len(services))
    outcomes: list[str] = []

    def attempt(service: StepUpService) -> None:
        barrier.wait()
        try:
            service.verify("alice", code)
        except CodeRejectedError as exc:
            outcomes.append(exc.reason)
        else:
            outcomes.append("ok")

    threads = [threading.Thread(target=attempt, args=(service,)) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for service in [*services, h.service]:
        service.close()
    assert sorted(outcomes) == ["ok"] + ["replayed"] * 7


def test_each_code_is_checked_against_its_own_seed(h: Harness) -> None:
    alice = h.enrol("alice")
    h.enrol("bob")
    bob_code = code_at(alice.seed.get_secret_value(), h.clock.now)
    with pytest.raises(CodeRejectedError):
        h.service.verify("bob", bob_code)
