"""The session store: a session reads back exactly as written, durable or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.storage import Backend
from gateway.troubleshooting.session import Session, SessionStatus, Step, StepKind
from gateway.troubleshooting.store import SessionStore
from tests.troubleshooting.support import NOW


@pytest.mark.parametrize("durable", [True, False], ids=["synced per commit", "synced by WAL"])
def test_a_session_reads_back_as_written(
    tmp_path: Path, durable: bool, storage_backend: Backend
) -> None:
    store = SessionStore(tmp_path / "sessions.db", durable=durable, backend=storage_backend)
    step = Step("ask", StepKind.ANSWERED, "done", "branch 0", NOW, True, {})
    session = Session("s1", "lab", 1, "sha256:0", "elena", SessionStatus.RESOLVED, "done",
                      NOW, NOW, steps=(step,), outcome={"node": "done"})  # fmt: skip
    store.save(session, snapshot="{}")
    store.save(session, snapshot="{}")  # written again: one session, one snapshot
    store.close()
    reopened = SessionStore(tmp_path / "sessions.db", backend=storage_backend)
    assert reopened.load("s1") == session
    assert reopened.snapshot("sha256:0") == "{}"
    assert reopened.success_rates("lab", "ask") == {"done": 1.0}
    assert reopened.recent(tree="lab") == [session]
    assert [row.path for row in reopened.rows("lab")] == [tuple(session.path)]
    assert reopened.trees() == ["lab"]
    reopened.close()


def test_erasing_a_user_leaves_sessions_only_mentioning_them_and_outcomes_without_summary(
    tmp_path: Path, storage_backend: Backend
) -> None:
    store = SessionStore(tmp_path / "sessions.db", backend=storage_backend)
    about_tom = Session("s1", "lab", 1, "sha256:0", "elena", SessionStatus.ESCALATED, "done",
                        NOW, NOW, facts={"user": "tom", "seen": "tom@example.com"},
                        outcome={"node": "done"})  # fmt: skip
    # the login shows up in a check's result, yet the session is about sam
    mentions_tom = Session("s2", "lab", 1, "sha256:0", "elena", SessionStatus.RESOLVED, "done",
                           NOW, NOW, facts={"user": "sam", "check": {"user": "tom"}},
                           outcome={"node": "done", "summary": "ok"})  # fmt: skip
    store.save(about_tom)
    store.save(mentions_tom)
    assert store.erase_user("tom", dry_run=True) == 1
    assert store.load("s1") == about_tom  # a dry run changes nothing
    assert store.erase_user("tom") == 1
    assert store.load("s1").facts == {"user": "tom", "seen": "(erased)"}
    assert store.load("s1").outcome == {"node": "done"}
    assert store.load("s2") == mentions_tom
    store.close()
