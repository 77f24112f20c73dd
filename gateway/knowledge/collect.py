"""Collection: everything that happened for an execution, a ticket or a session, as a Trail.

Execution records are the runtime's JSON (``Execution.as_json()``) and are treated as
untrusted: a record that is not a JSON object is refused (``TrailError``); a field that is
absent or of the wrong type is noted in ``Trail.missing`` and the rest is still used.  The
audit log adds what the record does not keep: the decision behind each privileged step
(its reasons and obligations), waits for approvals, step-ups and systems that were down,
and compensations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from gateway.audit.records import AuditRecord
from gateway.knowledge.audit_trail import AuditIndex
from gateway.knowledge.errors import TrailError
from gateway.knowledge.session import SessionTrail
from gateway.knowledge.text import clean_text, one_line, value_text
from gateway.knowledge.trail import EventKind, Trail, TrailEvent, TrailKind, merge_text

__all__ = ["MAX_EVENTS", "collect_execution", "collect_session", "collect_ticket"]

MAX_EVENTS = 50_000  # a trail keeps at most this many events; the rest are counted
_OUTCOMES = {
    "succeeded": "resolved",
    "failed": "failed",
    "compensated": "failed",
    "cancelled": "cancelled",
    "pending_approval": "waiting",
    "awaiting_step_up": "waiting",
    "waiting_for_target": "waiting",
    "queued": "in progress",
    "running": "in progress",
}
_WAITS = {
    "execution.pending_approval": "approval",
    "execution.awaiting_step_up": "step-up",
    "execution.waiting_for_target": "system unavailable",
}


def _text(record: Mapping[str, Any], name: str, where: str, missing: list[str]) -> str:
    value = record.get(name)
    if isinstance(value, str) and value:
        return one_line(value)
    missing.append(f"{where}: {name}")
    return ""


def _optional(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    return one_line(value) if isinstance(value, str) and value else None


def _pairs(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        return ()
    return tuple(
        sorted(
            (one_line(key, 80), clean_text(value_text(item), 500)) for key, item in value.items()
        )
    )


def _duration_ms(start: str | None, end: str | None) -> int | None:
    if start is None or end is None:
        return None
    try:
        began = datetime.fromisoformat(start.replace("Z", "+00:00"))
        ended = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0, round((ended - began).total_seconds() * 1000))


def _obligation(item: object) -> str:
    if not isinstance(item, Mapping):
        return one_line(item)
    if item.get("type") == "approval":
        who = ", ".join(one_line(a) for a in item.get("approvers") or [])
        return f"approval by {item.get('quorum', 1)} of {who or 'approvers'}"
    if item.get("type") == "step_up":
        return f"step-up ({one_line(item.get('method', 'totp'))})"
    return one_line(value_text(item))


def _decision(record: AuditRecord | None) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The verdict, reasons and obligations of a decision record."""
    if record is None:
        return "", (), ()
    payload = record.payload
    reasons = tuple(
        one_line(reason.get("message", "")) if isinstance(reason, Mapping) else one_line(reason)
        for reason in payload.get("reasons") or []
    )
    obligations = tuple(_obligation(item) for item in payload.get("obligations") or [])
    return one_line(payload.get("decision", "")), reasons, obligations


def _step_event(
    step: Mapping[str, Any],
    index: int,
    source: str,
    actor: str | None,
    details: Mapping[str, str],
    audit: AuditIndex | None,
    missing: list[str],
) -> TrailEvent:
    where = f"{source}, step {index + 1}"
    name = _text(step, "step", where, missing) or f"step {index + 1}"
    state = _text(step, "state", where, missing) or "unknown"
    decision_id = _optional(step, "decision_id")
    verdict, reasons, obligations = "", tuple[str, ...](), tuple[str, ...]()
    if decision_id is not None and audit is not None:
        found = audit.decisions.get(decision_id)
        if found is None:
            missing.append(f"{source}: the decision for step {name}")
        verdict, reasons, obligations = _decision(found)
    started, finished = _optional(step, "started_at"), _optional(step, "finished_at")
    if state == "started":
        missing.append(f"{source}: the outcome of step {name} (it had not finished)")
    detail = _optional(step, "error") or details.get(name, "")
    data = _pairs(step.get("parameters"))
    output = tuple((f"output.{key}", value) for key, value in _pairs(step.get("output")))
    if verdict:
        data = (*data, ("decision", verdict))
    return TrailEvent(
        kind=EventKind.STEP,
        name=name,
        state=state,
        detail=detail,
        at=started or finished,
        duration_ms=_duration_ms(started, finished),
        actor=actor,
        source=source,
        reasons=reasons,
        obligations=obligations,
        data=tuple(sorted((*data, *output))),
    )


def _audit_events(records: Sequence[AuditRecord], source: str) -> list[TrailEvent]:
    events: list[TrailEvent] = []
    for record in records:
        payload = record.payload
        if record.type in _WAITS:
            what = _WAITS[record.type]
            step = one_line(payload.get("step", ""))
            extra = one_line(payload.get("system", "")) or one_line(payload.get("approval_id", ""))
            events.append(
                TrailEvent(
                    kind=EventKind.WAIT,
                    name=what,
                    state="waited",
                    detail=" ".join(part for part in (step and f"step {step}", extra) if part),
                    at=record.time,
                    actor=record.actor,
                    source=source,
                )
            )
        elif record.type.startswith("compensation."):
            events.append(
                TrailEvent(
                    kind=EventKind.COMPENSATION,
                    name=one_line(payload.get("step", "")) or "undo",
                    state=record.type.removeprefix("compensation."),
                    detail=one_line(payload.get("reason", "") or payload.get("action", "")),
                    at=record.time,
                    actor=record.actor,
                    source=source,
                )
            )
    return events


def _action_details(records: Sequence[AuditRecord]) -> dict[str, str]:
    return {
        one_line(r.payload.get("step", "")): one_line(r.payload.get("detail", ""))
        for r in records
        if r.type == "action.succeeded" and r.payload.get("detail")
    }


def _ordered(events: Iterable[TrailEvent]) -> tuple[TrailEvent, ...]:
    """Events in time order; one without a time keeps its place after the one before."""
    keyed: list[tuple[str, int, TrailEvent]] = []
    last = ""
    for position, event in enumerate(events):
        last = event.at or last
        keyed.append((last, position, event))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return tuple(event for _, _, event in keyed)


def _capped(events: tuple[TrailEvent, ...], missing: list[str]) -> tuple[TrailEvent, ...]:
    if len(events) <= MAX_EVENTS:
        return events
    missing.append(f"{len(events) - MAX_EVENTS} later events (the trail keeps {MAX_EVENTS})")
    return events[:MAX_EVENTS]


def _fix(events: Sequence[TrailEvent]) -> str:
    """The step that resolved it, in words: the last privileged step that succeeded and
    changed something, else the last privileged one that succeeded, else the last step."""
    done = [e for e in events if e.kind is EventKind.STEP and e.state == "succeeded"]
    privileged = [e for e in done if "decision" in dict(e.data)]
    changed = [e for e in privileged if dict(e.data).get("output.changed") != "false"]
    for group in (changed, privileged, done):
        if group:
            event = group[-1]
            return f"{event.name}: {event.detail}" if event.detail else event.name
    return ""


def _title(workflow: str) -> str:
    return workflow.replace("-", " ").replace("_", " ").capitalize() or "Execution"


def collect_execution(record: object, audit: AuditIndex | None = None) -> Trail:
    """The trail of one execution, from its JSON record and (when given) the audit log."""
    if not isinstance(record, Mapping):
        raise TrailError(f"execution record: expected a JSON object, found {type(record).__name__}")
    missing: list[str] = []
    execution_id = _text(record, "id", "execution", missing) or "unknown"
    source = f"execution {execution_id}"
    workflow = _text(record, "workflow", source, missing)
    state = _text(record, "state", source, missing) or "unknown"
    actor = _optional(record, "actor")
    target = _optional(record, "target") or ""
    ticket = _optional(record, "ticket")
    records: list[AuditRecord] = []
    if audit is not None:
        records = audit.for_execution(execution_id)
        missing.extend(audit.problems)
        if not records:
            missing.append(f"{source}: its audit records (decisions and reasons)")
    steps = record.get("steps")
    if not isinstance(steps, list):
        missing.append(f"{source}: steps")
        steps = []
    details = _action_details(records)
    events: list[TrailEvent] = []
    for index, step in enumerate(steps):
        if isinstance(step, Mapping):
            events.append(_step_event(step, index, source, actor, details, audit, missing))
        else:
            missing.append(f"{source}, step {index + 1}: not an object")
    events.extend(_audit_events(records, source))
    ordered = _capped(_ordered(events), missing)
    if state not in ("succeeded", "failed", "compensated", "cancelled"):
        missing.append(f"{source}: its end (it is {state})")
    error = _optional(record, "error") or ""
    parameters = ", ".join(f"{k}={v}" for k, v in _pairs(record.get("parameters")))
    problem = f"{actor or 'someone'} asked for {workflow or 'a workflow'}"
    problem += f" on {target}" if target else ""
    problem += f" ({parameters})" if parameters else ""
    return Trail(
        kind=TrailKind.EXECUTION,
        subject=execution_id,
        title=f"{_title(workflow)}" + (f" ({target})" if target else ""),
        category=workflow or "unknown",
        problem=problem,
        outcome=_OUTCOMES.get(state, "unknown"),
        outcome_detail=error or state,
        started_at=_optional(record, "created_at"),
        finished_at=_optional(record, "finished_at"),
        people=merge_text((actor or "",)),
        tickets=merge_text((ticket or "",)),
        executions=(execution_id,),
        events=ordered,
        missing=tuple(missing),
        fix=_fix(ordered),
    )


def _session_events(session: SessionTrail) -> list[TrailEvent]:
    source = f"session {session.id}"
    events: list[TrailEvent] = []
    for node in session.path:
        if node.kind in ("diagnostic", "action", "outcome"):
            continue  # these come with their results below, or are the trail's outcome
        kind = {
            "question": EventKind.QUESTION,
            "escalation": EventKind.ESCALATION,
        }.get(node.kind, EventKind.NOTE)
        answer = "" if node.answer is None else clean_text(value_text(node.answer), 500)
        events.append(
            TrailEvent(
                kind=kind,
                name=one_line(node.text) or node.node,
                state="answered" if node.kind == "question" else node.kind,
                detail=answer,
                at=node.at,
                actor=session.technician,
                source=source,
                data=(("node", one_line(node.node)),),
            )
        )
    for check in session.diagnostics:
        events.append(
            TrailEvent(
                kind=EventKind.DIAGNOSTIC,
                name=one_line(check.name),
                state=check.result,
                detail=clean_text(check.detail, 500),
                at=check.at,
                duration_ms=check.duration_ms,
                source=source,
                data=(("target", one_line(check.target)),) if check.target else (),
            )
        )
    return events


def collect_session(
    session: SessionTrail,
    executions: Mapping[str, object] | None = None,
    audit: AuditIndex | None = None,
) -> Trail:
    """The trail of a troubleshooting session, with the executions it started (their
    records by id in ``executions``)."""
    missing: list[str] = []
    events = _session_events(session)
    found = executions or {}
    parts: list[Trail] = []
    for execution_id in session.executions:
        if execution_id in found:
            parts.append(collect_execution(found[execution_id], audit))
        else:
            missing.append(f"the record of execution {execution_id}")
    for part in parts:
        events.extend(part.events)
        missing.extend(item for item in part.missing if item not in missing)
    outcome = session.outcome
    follow_ups: tuple[str, ...] = ()
    if outcome is None:
        missing.append(f"session {session.id}: its outcome (it has not ended)")
        result, detail = "in progress", ""
    else:
        result = {"resolved": "resolved", "escalated": "escalated"}.get(outcome.result, "failed")
        detail = one_line(outcome.summary, 1000)
        if outcome.escalate_to:
            detail = f"{detail} (escalated to {one_line(outcome.escalate_to)})".strip()
        follow_ups = tuple(one_line(item) for item in outcome.follow_ups)
    ordered = _capped(_ordered(events), missing)
    symptoms = tuple(one_line(symptom, 200) for symptom in session.symptoms)
    return Trail(
        kind=TrailKind.SESSION,
        subject=session.id,
        title=one_line(session.title, 200) or _title(session.tree),
        category=session.tree,
        problem=clean_text(session.problem, 4000),
        outcome=result,
        outcome_detail=detail,
        started_at=session.started_at,
        finished_at=session.finished_at,
        people=merge_text((session.technician,), *(p.people for p in parts)),
        tickets=merge_text((session.ticket or "",), *(p.tickets for p in parts)),
        executions=merge_text(*(p.executions for p in parts)),
        sessions=(session.id,),
        symptoms=merge_text(symptoms),
        events=ordered,
        follow_ups=follow_ups,
        missing=tuple(missing),
        fix=_fix(ordered),
    )


def collect_ticket(
    ticket: str,
    executions: Sequence[object] = (),
    sessions: Sequence[SessionTrail] = (),
    audit: AuditIndex | None = None,
) -> Trail:
    """Everything done for ``ticket``: its sessions (with their executions) and any other
    executions that carry the ticket, in time order."""
    if not executions and not sessions:
        raise TrailError(f"ticket {one_line(ticket)!r}: nothing was done for it")
    by_id: dict[str, object] = {}
    for record in executions:
        if not isinstance(record, Mapping):
            raise TrailError(
                f"execution record: expected a JSON object, found {type(record).__name__}"
            )
        by_id[one_line(record.get("id", ""))] = record
    parts = [collect_session(session, by_id, audit) for session in sessions]
    covered = {execution for part in parts for execution in part.executions}
    parts += [
        collect_execution(record, audit) for key, record in by_id.items() if key not in covered
    ]
    parts.sort(key=lambda part: part.started_at or "")
    missing = list(merge_text(*(part.missing for part in parts)))
    events = _capped(_ordered(event for part in parts for event in part.events), missing)
    last = parts[-1]
    first_problem = next((part for part in parts if part.kind is TrailKind.SESSION), parts[0])
    return Trail(
        kind=TrailKind.TICKET,
        subject=one_line(ticket, 128),
        title=first_problem.title,
        category=first_problem.category,
        problem=first_problem.problem,
        outcome=last.outcome,
        outcome_detail=last.outcome_detail,
        started_at=parts[0].started_at,
        finished_at=last.finished_at,
        people=merge_text(*(part.people for part in parts)),
        tickets=merge_text((one_line(ticket, 128),), *(part.tickets for part in parts)),
        executions=merge_text(*(part.executions for part in parts)),
        sessions=merge_text(*(part.sessions for part in parts)),
        symptoms=merge_text(*(part.symptoms for part in parts)),
        events=events,
        follow_ups=merge_text(*(part.follow_ups for part in parts)),
        missing=tuple(missing),
        fix=_fix(events),
    )
