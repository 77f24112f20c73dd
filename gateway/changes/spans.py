"""ServiceNow schedule entries (``cmn_schedule_span``) as iCalendar events.

A schedule (``cmn_schedule``) has a ``type`` (``blackout``, ``maintenance``, ...) and a
``time_zone`` (empty: floating, read as UTC).  Each of its entries has ``start_date_time``
and ``end_date_time`` in ServiceNow's schedule format (``20261220T000000``, in the
schedule's zone), and may repeat: ``repeat_type`` (``daily``, ``weekdays``, ``weekends``,
``weekly`` on ``days_of_week`` digits 1 = Monday .. 7 = Sunday, ``monthly``, ``yearly``),
every ``repeat_count`` periods, until ``repeat_until`` (``YYYYMMDD``).  An entry becomes
one ``VEVENT`` with an ``RRULE``, so the file calendar and ServiceNow are expanded by the
same code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.changes.errors import ChangeSourceError

__all__ = ["span_event"]

_STAMP = re.compile(r"^\d{8}T\d{6}$")
_DAY = re.compile(r"^\d{8}$")
_WEEKDAYS = {"1": "MO", "2": "TU", "3": "WE", "4": "TH", "5": "FR", "6": "SA", "7": "SU"}
_FIXED = {
    "daily": "FREQ=DAILY",
    "weekdays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "weekends": "FREQ=WEEKLY;BYDAY=SA,SU",
    "monthly": "FREQ=MONTHLY",
    "yearly": "FREQ=YEARLY",
}


def _text(value: object) -> str:
    """A field's value as text (``""`` for none)."""
    return "" if value is None else str(value).strip()


def _escape(text: str) -> str:
    text = re.sub(r"[\r\n]+", " ", text)
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")


def _rule(span: Mapping[str, Any], where: str) -> str | None:
    kind = _text(span.get("repeat_type")).lower()
    if kind in ("", "none"):
        return None
    if kind == "weekly":
        digits = _text(span.get("days_of_week"))
        days = [_WEEKDAYS.get(digit) for digit in digits]
        if not days or None in days:
            raise ChangeSourceError(
                f"{where}: days_of_week must be digits 1 (Monday) to 7, found {digits!r}"
            )
        rule = "FREQ=WEEKLY;BYDAY=" + ",".join(day for day in days if day)
    elif kind in _FIXED:
        rule = _FIXED[kind]
    else:
        raise ChangeSourceError(f"{where}: unknown repeat_type {kind!r}")
    count = _text(span.get("repeat_count")) or "1"
    if not count.isdigit() or int(count) < 1:
        raise ChangeSourceError(f"{where}: repeat_count must be a whole number, found {count!r}")
    if int(count) > 1:
        rule += f";INTERVAL={int(count)}"
    until = _text(span.get("repeat_until"))
    if until:
        if not _DAY.match(until):
            raise ChangeSourceError(f"{where}: repeat_until must be YYYYMMDD, found {until!r}")
        rule += f";UNTIL={until}T235959Z"
    return rule


def span_event(span: Mapping[str, Any], schedule: Mapping[str, Any], category: str) -> list[str]:
    """The ``VEVENT`` lines of ``span`` (an entry of ``schedule``), categorised
    ``category`` (``FREEZE`` or ``MAINTENANCE``); ``ChangeSourceError`` naming the entry."""
    sys_id = _text(span.get("sys_id")) or "(no sys_id)"
    name = _text(schedule.get("name")) or _text(schedule.get("sys_id"))
    where = f"ServiceNow cmn_schedule_span {sys_id} of schedule {name!r}"
    zone = _text(schedule.get("time_zone"))
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ChangeSourceError(f"{where}: unknown time_zone {zone!r}") from None
    times = []
    for field in ("start_date_time", "end_date_time"):
        value = _text(span.get(field))
        if not _STAMP.match(value):
            raise ChangeSourceError(f"{where}: {field} must be YYYYMMDDTHHMMSS, found {value!r}")
        times.append(value)
    if times[1] <= times[0]:
        raise ChangeSourceError(f"{where}: end_date_time is not after start_date_time")
    zoned = f";TZID={zone}" if zone else ""
    lines = [
        "BEGIN:VEVENT",
        f"UID:servicenow-{sys_id}",
        "DTSTAMP:20000101T000000Z",
        f"SUMMARY:{_escape(_text(span.get('name')) or name)}",
        f"CATEGORIES:{category}",
        f"DTSTART{zoned}:{times[0]}",
        f"DTEND{zoned}:{times[1]}",
    ]
    rule = _rule(span, where)
    if rule is not None:
        lines.append(f"RRULE:{rule}")
    lines.append("END:VEVENT")
    return lines
