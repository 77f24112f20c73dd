"""Collection from execution records, the audit log and session trails, including records
that are incomplete, corrupted or huge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.audit.records import AuditEvent, AuditRecord
from gateway.knowledge.audit_trail import AuditIndex, read_audit
from gateway.knowledge.collect import MAX_EVENTS, collect_execution, collect_session, collect_ticket
from gateway.knowledge.errors import KnowledgeStoreError, TrailError
from gateway.knowledge.session import SessionDiagnostic, SessionNode, SessionOutcome, SessionTrail
from gateway.knowledge.trail import EventKind
from tests.knowledge.conftest import Runtime


def _audit(runtime: Runtime) -> AuditIndex:
    return read_audit(runtime.config.audit.log, runtime.config.privacy.key_store)


def test_an_execution_brings_its_decisions_reasons_and_fix(runtime: Runtime) -> None:
    started = runtime.executor.start(
        "account-unlock", {"user": "tom"}, actor="elena", ticket="T-1", channel="cli"
    )
    done = runtime.executor.advance(started.id)

    trail = collect_execution(done.as_json(), _audit(runtime))

    assert trail.complete, trail.missing
    assert trail.outcome == "resolved"
    assert trail.tickets == ("T-1",)
    assert trail.title == "Account unlock (account:tom)"
    unlock = next(e for e in trail.events if e.name == "unlock")
    assert ("decision", "allow") in unlock.data
    assert "helpdesk may unlock a non-privileged account" in unlock.reasons
    assert unlock.detail == "account tom was not locked"
    assert trail.fix == "unlock: account tom was not locked"


def test_waits_and_compensations_come_from_the_audit_log(runtime: Runtime) -> None:
    waiting = runtime.run("password-reset", "tom", user="tom")
    audit = runtime.gateway.audit
    assert audit is not None
    audit.append(
        AuditEvent(
            type="compensation.succeeded",
            actor="svc-gateway",
            payload={"execution": waiting.id, "step": "reset", "reason": "compensation"},
        )
    )

    trail = collect_execution(waiting.as_json(), _audit(runtime))

    kinds = {(e.kind, e.name) for e in trail.events}
    assert (EventKind.WAIT, "step-up") in kinds
    assert (EventKind.COMPENSATION, "reset") in kinds
    assert trail.outcome == "waiting"
    assert f"execution {waiting.id}: its end (it is awaiting_step_up)" in trail.missing
    reset = next(e for e in trail.events if e.name == "reset" and e.kind is EventKind.STEP)
    assert reset.obligations == ("step-up (totp)",)


def _decision(decision_id: str, obligations: list[Any]) -> AuditRecord:
    return AuditRecord(
        seq=0,
        time="2026-01-01T00:00:00.000000Z",
        prev="0" * 64,
        type="decision",
        actor="a",
        action="x",
        resource="r",
        decision_id=decision_id,
        policy_digest=None,
        payload={"decision": "allow", "obligations": obligations, "reasons": ["plain reason"]},
        redacted=(),
        key_id="0" * 16,
        signature=b"",
        line=b"",
    )


def test_obligations_and_reasons_of_any_shape_are_described() -> None:
    obligations = [{"type": "approval", "quorum": 2, "approvers": ["manager"]}, {"x": 1}, "odd"]
    audit = AuditIndex.of([_decision("d1", obligations)])
    record = {
        "id": "e1",
        "workflow": "w",
        "state": "succeeded",
        "steps": [{"step": "s", "state": "succeeded", "decision_id": "d1"}],
    }

    event = collect_execution(record, audit).events[0]

    assert event.obligations == ("approval by 2 of manager", '{"x": 1}', "odd")
    assert event.reasons == ("plain reason",)


def test_a_partial_record_still_makes_a_trail_that_says_what_is_missing() -> None:
    record = {
        "id": "e1",
        "state": "running",
        "steps": [
            {"step": "one", "state": "started", "started_at": "not a time", "finished_at": "x"},
            "garbage",
            {"state": "succeeded", "decision_id": "gone"},
        ],
    }

    trail = collect_execution(record, AuditIndex(problems=["audit record at line 3 is unreadable"]))

    assert trail.missing == (
        "execution e1: workflow",
        "audit record at line 3 is unreadable",
        "execution e1: its audit records (decisions and reasons)",
        "execution e1: the outcome of step one (it had not finished)",
        "execution e1, step 2: not an object",
        "execution e1, step 3: step",
        "execution e1: the decision for step step 3",
        "execution e1: its end (it is running)",
    )
    assert trail.events[0].duration_ms is None
    assert trail.outcome == "in progress"


def test_a_record_without_steps_or_fields_is_still_summarised() -> None:
    trail = collect_execution({"steps": "nope"})
    assert "execution unknown: steps" in trail.missing
    assert trail.category == "unknown"
    assert trail.fix == ""


@pytest.mark.parametrize("record", [[1, 2], "text", None, 42], ids=repr)
def test_a_record_that_is_not_an_object_is_refused(record: object) -> None:
    with pytest.raises(TrailError, match=r"^execution record: expected a JSON object, found "):
        collect_execution(record)


def test_a_huge_step_list_is_capped_and_says_so() -> None:
    steps = [{"step": f"s{i}", "state": "succeeded"} for i in range(MAX_EVENTS + 5)]
    trail = collect_execution({"id": "e", "workflow": "w", "state": "succeeded", "steps": steps})
    assert len(trail.events) == MAX_EVENTS
    assert trail.missing == (f"5 later events (the trail keeps {MAX_EVENTS})",)


def test_unreadable_audit_lines_are_named_and_skipped(runtime: Runtime, tmp_path: Path) -> None:
    runtime.run("account-unlock", "elena", user="tom")
    log = runtime.config.audit.log
    with log.open("ab") as handle:
        handle.write(b"\xff\xfe not json\n")
    index = read_audit(log)
    assert index.problems[-1].endswith("is unreadable (malformed record)")
    assert read_audit(tmp_path / "none.jsonl").problems == ["the audit log does not exist"]
    with pytest.raises(KnowledgeStoreError, match="cannot read the audit log"):
        read_audit(tmp_path)


def test_a_record_being_appended_is_not_read_yet(runtime: Runtime) -> None:
    runtime.run("account-unlock", "elena", user="tom")
    log = runtime.config.audit.log
    before = _audit(runtime)
    with log.open("ab") as handle:  # another process's append, half written
        handle.write(log.read_bytes().splitlines()[-1][:40])
    after = _audit(runtime)
    assert after.problems == before.problems == []
    assert after.decisions.keys() == before.decisions.keys() != set()


def _session(**changes: Any) -> SessionTrail:
    values: dict[str, Any] = {
        "id": "s1",
        "tree": "vpn",
        "technician": "elena",
        "ticket": "T-9",
        "problem": "VPN drops",
        "path": [
            SessionNode(
                node="q",
                kind="question",
                text="Wired?",
                answer=True,
                at="2026-01-01T00:00:01.000000Z",
            ),
            SessionNode(node="d", kind="decision", at="2026-01-01T00:00:02.000000Z"),
            SessionNode(node="e", kind="escalation", text="Network team"),
        ],
        "diagnostics": [
            SessionDiagnostic(
                name="ping", result="timeout", duration_ms=2000, at="2026-01-01T00:00:00.000000Z"
            )
        ],
        "executions": ["lost"],
        "outcome": SessionOutcome(
            result="escalated", summary="needs a new cable", escalate_to="network"
        ),
    }
    values.update(changes)
    return SessionTrail(**values)


def test_a_session_trail_keeps_path_diagnostics_and_outcome() -> None:
    trail = collect_session(_session())
    assert [e.kind for e in trail.events] == [
        EventKind.DIAGNOSTIC,
        EventKind.QUESTION,
        EventKind.NOTE,
        EventKind.ESCALATION,
    ]
    assert trail.events[1].detail == "true"
    assert trail.outcome == "escalated"
    assert trail.outcome_detail == "needs a new cable (escalated to network)"
    assert trail.missing == ("the record of execution lost",)
    assert trail.title == "Vpn"


def test_a_session_that_has_not_ended_says_so() -> None:
    trail = collect_session(_session(outcome=None, executions=[]))
    assert trail.outcome == "in progress"
    assert trail.missing == ("session s1: its outcome (it has not ended)",)
    abandoned = collect_session(_session(outcome=SessionOutcome(result="abandoned")))
    assert abandoned.outcome == "failed"


def test_a_ticket_gathers_its_sessions_and_other_executions(runtime: Runtime) -> None:
    first = runtime.executor.start("account-unlock", {"user": "tom"}, actor="elena", ticket="T-9")
    first = runtime.executor.advance(first.id)
    second = runtime.executor.start(
        "account-unlock", {"user": "alice"}, actor="elena", ticket="T-9"
    )
    second = runtime.executor.advance(second.id)
    session = _session(executions=[first.id], outcome=SessionOutcome(result="resolved"))

    trail = collect_ticket("T-9", [first.as_json(), second.as_json()], [session], _audit(runtime))

    assert trail.executions == (first.id, second.id)
    assert trail.sessions == ("s1",)
    assert trail.category == "vpn"
    assert trail.subject == "T-9"
    only = collect_ticket("T-9", [second.as_json()], audit=_audit(runtime))
    assert only.category == "account-unlock"


def test_a_ticket_with_nothing_done_or_a_bad_record_is_refused() -> None:
    with pytest.raises(TrailError, match="ticket 'T-1': nothing was done for it"):
        collect_ticket("T-1")
    with pytest.raises(TrailError, match="found list"):
        collect_ticket("T-1", [[]])


def test_a_ticket_with_a_huge_trail_is_capped() -> None:
    steps = [{"step": f"s{i}", "state": "succeeded"} for i in range(MAX_EVENTS)]
    records = [
        {"id": name, "workflow": "w", "state": "succeeded", "steps": steps[:half]}
        for name, half in (("a", MAX_EVENTS), ("b", 3))
    ]
    trail = collect_ticket("T-1", records)
    assert len(trail.events) == MAX_EVENTS
    assert trail.missing == (f"3 later events (the trail keeps {MAX_EVENTS})",)
