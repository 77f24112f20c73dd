"""The watchdog that cuts a statement whose peer never answers: each watched socket is
shut down at its own deadline, whichever order statements of different timeouts come in,
and a socket whose statement ended in time is left alone."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from gateway.storage import deadlines
from gateway.storage.deadlines import Watchdog


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made = [socket.socketpair() for _ in range(3)]
    yield made
    for ours, theirs in made:
        ours.close()
        theirs.close()


def cut(ours: socket.socket, within: float) -> bool:
    """Whether ``ours`` was shut down (its read side ends) within ``within`` seconds."""
    ours.settimeout(within)
    try:
        return ours.recv(1) == b""
    except TimeoutError:
        return False


def test_each_statement_is_cut_at_its_own_deadline_whatever_the_order(
    pairs: list[tuple[socket.socket, socket.socket]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadlines, "WATCHDOG_GRACE_SECONDS", 0.05)
    watchdog = Watchdog()
    (slow, _), (quick, _), (later, _) = pairs
    with watchdog.watch(slow.fileno(), 60):
        with watchdog.watch(quick.fileno(), 0.2):  # due sooner: the thread looks again
            assert cut(quick, within=5)
        # the thread now sleeps until the slow one's deadline
        with watchdog.watch(later.fileno(), 120):  # due later still: it sleeps on
            assert not cut(later, within=0.1)
        assert not cut(slow, within=0.1)


def test_a_statement_answered_in_time_is_left_alone_and_the_next_is_still_watched(
    pairs: list[tuple[socket.socket, socket.socket]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadlines, "WATCHDOG_GRACE_SECONDS", 0.05)
    watchdog = Watchdog()
    (answered, _), (hung, _), _ = pairs
    with watchdog.watch(answered.fileno(), 0.1):
        pass  # answered: its deadline is forgotten
    with watchdog.watch(hung.fileno(), 0.1):  # the thread sleeps with nothing to watch
        assert cut(hung, within=5)
    assert not cut(answered, within=0.3)
    with watchdog.watch(answered.fileno(), None):  # no bound: never watched
        assert not cut(answered, within=0.2)
