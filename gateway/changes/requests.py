"""Change requests: may a workflow act under the change it names now?

A privileged workflow may be bound to a change request (``change_request: required`` or
``optional`` in its definition); the gateway, never the caller, reads the change and tells
the policies what it found (``context.change_request``: ``number``, ``approved``,
``implementing``, ``in_window``).  A change may be acted under when it is approved
(``approval = approved``), in the Implement state (``state = -1``, as ServiceNow's
"Update change request states" lists the state values) and now inside its planned window
(``start_date <= now < end_date``, UTC).

Sources: ServiceNow's ``change_request`` table when ``[changes.servicenow]`` is set, else
the change register file (``[changes] register_file``, YAML with the same fields).  A
source that cannot be read fails closed: the change is not found ready, and the reason
says why.

When an execution bound to a change finishes, its summary goes onto the change
(``add_note``): a work note on ServiceNow's change request (``PATCH
/api/now/table/change_request/{sys_id}`` with ``work_notes``), or a line of the register's
notes file (JSON lines).  The runtime queues the note durably and retries it
(``gateway.runtime.change_notes``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import JsonValue

from gateway.changes.errors import ChangeSourceError
from gateway.changes.servicenow import ServiceNowTables
from gateway.clock import Clock, utcnow

__all__ = [
    "CHANGE_NUMBER",
    "ChangeRegister",
    "ChangeRequestSource",
    "ChangeRequestStatus",
    "ServiceNowChangeRequests",
    "evaluate_change",
]

CHANGE_NUMBER = r"^[A-Z]{2,10}[0-9]{1,20}$"
IMPLEMENT = "-1"  # ServiceNow's state value of Implement
_FIELDS = "sys_id,number,approval,state,start_date,end_date"


@dataclass(frozen=True, slots=True)
class ChangeRequestStatus:
    """What the gateway found about one change request at one moment."""

    number: str
    approved: bool = False
    implementing: bool = False
    in_window: bool = False
    sys_id: str | None = None
    problem: str | None = None  # why it may not be acted under now

    @property
    def ready(self) -> bool:
        return self.problem is None

    def context(self) -> dict[str, JsonValue]:
        """``context.change_request`` for the policies."""
        return {
            "number": self.number,
            "approved": self.approved,
            "implementing": self.implementing,
            "in_window": self.in_window,
        }

    def audit(self) -> dict[str, JsonValue]:
        """What the audit records keep: the context and, when refused, why."""
        return {**self.context(), "problem": self.problem}


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value or "").strip())
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def evaluate_change(number: str, record: Mapping[str, Any], now: datetime) -> ChangeRequestStatus:
    """The status of ``record`` (``approval``, ``state``, ``start_date``, ``end_date``)."""
    approval = str(record.get("approval", "")).strip().lower()
    state = str(record.get("state", "")).strip().lower()
    start, end = _moment(record.get("start_date")), _moment(record.get("end_date"))
    approved = approval == "approved"
    implementing = state in (IMPLEMENT, "implement")
    in_window = start is not None and end is not None and start <= now < end
    problem = None
    if not approved:
        problem = f"change {number} is not approved (approval = {approval or 'none'})"
    elif not implementing:
        problem = f"change {number} is not in the Implement state (state = {state or 'none'})"
    elif not in_window:
        problem = f"change {number} is outside its planned window"
    sys_id = record.get("sys_id")
    return ChangeRequestStatus(
        number, approved, implementing, in_window, str(sys_id) if sys_id else None, problem
    )


class ChangeRequestSource(Protocol):
    def check(self, number: str) -> ChangeRequestStatus: ...

    def add_note(self, number: str, text: str) -> None:
        """Put ``text`` on the change; ``ChangeSourceError`` when it cannot be written."""
        ...


def _unknown(number: str, where: str) -> ChangeRequestStatus:
    return ChangeRequestStatus(number, problem=f"change {number} is not known to {where}")


class ChangeRegister:
    """The embedded change register: a YAML file ``changes: [{number, approval, state,
    start_date, end_date}]``, read on every check."""

    def __init__(self, path: Path, *, notes: Path | None = None, clock: Clock = utcnow) -> None:
        self.path = path
        self.notes = notes if notes is not None else path.with_name(path.stem + "-notes.jsonl")
        self._clock = clock

    def add_note(self, number: str, text: str) -> None:
        line = {"number": number, "at": self._clock().isoformat(), "work_notes": text}
        try:
            self.notes.parent.mkdir(parents=True, exist_ok=True)
            with self.notes.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, sort_keys=True) + "\n")
        except OSError as exc:
            raise ChangeSourceError(
                f"change notes {self.notes}: cannot be written: {exc}"
            ) from None

    def _records(self) -> list[Mapping[str, Any]]:
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ChangeSourceError(f"change register {self.path}: cannot be read: {exc}") from None
        changes = data.get("changes") if isinstance(data, dict) else None
        if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
            raise ChangeSourceError(f"change register {self.path}: 'changes' is not a list")
        return changes

    def check(self, number: str) -> ChangeRequestStatus:
        try:
            records = self._records()
        except ChangeSourceError as exc:
            return ChangeRequestStatus(number, problem=str(exc))
        for record in records:
            if str(record.get("number", "")) == number:
                return evaluate_change(number, record, self._clock())
        return _unknown(number, "the change register")


class ServiceNowChangeRequests:
    """ServiceNow's ``change_request`` table (``GET /api/now/table/change_request``)."""

    def __init__(self, tables: ServiceNowTables, *, clock: Clock = utcnow) -> None:
        self.tables = tables
        self._clock = clock

    def close(self) -> None:
        self.tables.close()

    def check(self, number: str) -> ChangeRequestStatus:
        if not re.fullmatch(CHANGE_NUMBER, number):
            return ChangeRequestStatus(number, problem=f"change {number!r} is not a change number")
        try:
            rows = self.tables.rows("change_request", f"number={number}", _FIELDS)
        except ChangeSourceError as exc:
            return ChangeRequestStatus(number, problem=f"change {number} cannot be checked: {exc}")
        if len(rows) != 1:
            return _unknown(number, "ServiceNow")
        return evaluate_change(number, rows[0], self._clock())

    def add_note(self, number: str, text: str) -> None:
        rows = self.tables.rows("change_request", f"number={number}", "sys_id")
        if len(rows) != 1 or not rows[0].get("sys_id"):
            raise ChangeSourceError(f"ServiceNow: change {number} is not known")
        suffix = f"/{rows[0]['sys_id']}"
        self.tables.call("PATCH", "change_request", suffix, json={"work_notes": text})
