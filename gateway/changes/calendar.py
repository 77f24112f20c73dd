"""A change calendar read from an iCalendar file: freezes and maintenance windows.

Each ``VEVENT`` is a period; its ``CATEGORIES`` say what it is: ``FREEZE`` (no
non-standard change while it lasts) or ``MAINTENANCE`` (a window for planned work).
Recurring periods (``RRULE``, ``RDATE``, ``EXDATE``) are expanded by
``recurring-ical-events``.  Times without a zone are read as UTC; an all-day event
lasts from midnight UTC to midnight UTC.

The file is read again when it changes.  A file that no longer parses keeps the last
good calendar in force (and says so in ``problem``); a calendar that never loaded is a
``SourceError`` at start, so the gateway never runs on a calendar it could not read.

Other sources (ServiceNow's blackout and maintenance schedules) are merged in, read again
every ``cache_seconds``.  A source that cannot be read, or answers with something that is
not a calendar, fails closed: a freeze is assumed, no window is open, and the state says
why (``ChangeState.problem``, sent to the policies as ``change_calendar_problem``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

import icalendar
import recurring_ical_events

from gateway.changes.errors import ChangeSourceError
from gateway.clock import Clock, utcnow
from gateway.errors import SourceError

__all__ = ["CalendarSource", "ChangeCalendar", "ChangePeriod", "ChangeState", "load_periods"]

log = logging.getLogger(__name__)

PeriodKind = Literal["freeze", "maintenance"]
_KINDS: dict[str, PeriodKind] = {"FREEZE": "freeze", "MAINTENANCE": "maintenance"}


@dataclass(frozen=True, slots=True)
class ChangePeriod:
    """One occurrence of a freeze or a maintenance window, ``start <= t < end``."""

    kind: PeriodKind
    name: str
    uid: str
    start: datetime
    end: datetime

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class ChangeState:
    """What the calendar says about one moment."""

    freeze: ChangePeriod | None = None
    maintenance: ChangePeriod | None = None
    problem: str | None = None  # a source could not be read: a freeze is assumed

    @property
    def frozen(self) -> bool:
        return self.freeze is not None or self.problem is not None

    @property
    def in_window(self) -> bool:
        return self.maintenance is not None and self.problem is None

    def context(self) -> dict[str, bool | str]:
        """The request context the gateway sets from the calendar."""
        added: dict[str, bool | str] = {
            "change_freeze": self.frozen,
            "change_window": self.in_window,
        }
        if self.problem is not None:
            added["change_calendar_problem"] = self.problem
        return added


class CalendarSource(Protocol):
    """Another source of periods, merged with the file (ServiceNow schedules)."""

    name: str
    cache_seconds: float

    def calendar_text(self) -> str:
        """The source's periods as iCalendar text; ``ChangeSourceError`` naming it."""
        ...

    def close(self) -> None: ...


def _moment(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.combine(value, time.min, tzinfo=UTC)


def _line_of(text: str, uid: str) -> int:
    """The line of the event with ``uid`` (of the file's first event when unknown)."""
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if line.upper().startswith("UID") and line.partition(":")[2].strip() == uid:
            return number
    return next((n for n, line in enumerate(lines, 1) if line.upper() == "BEGIN:VEVENT"), 0)


def _kind(event: Any, path: Path, text: str, uid: str) -> PeriodKind:
    found: list[str] = []
    categories = event.get("CATEGORIES")
    for item in categories if isinstance(categories, list) else [categories]:
        if item is not None:
            found.extend(str(category).strip().upper() for category in item.cats)
    kinds = {_KINDS[name] for name in found if name in _KINDS}
    if len(kinds) != 1:
        raise SourceError.single(
            "invalid change calendar",
            path,
            _line_of(text, uid),
            f"event {uid!r}: CATEGORIES must hold exactly one of FREEZE or MAINTENANCE, "
            f"found {', '.join(found) or 'none'}",
        )
    return kinds.pop()


def load_periods(path: Path, text: str, start: datetime, end: datetime) -> list[ChangePeriod]:
    """The periods of the calendar ``text`` (read from ``path``) that overlap
    ``[start, end)``, in order of start; ``SourceError`` naming the file for bad input."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
        events = recurring_ical_events.of(calendar).between(start, end)
    except Exception as exc:  # the parsers raise ValueError, KeyError, TypeError, ...
        detail = re.sub(r"\s+", " ", str(exc)).strip()[:200] or type(exc).__name__
        raise SourceError.single(
            "invalid change calendar", path, 0, f"not iCalendar: {detail}"
        ) from exc
    periods: list[ChangePeriod] = []
    for event in events:
        uid = str(event.get("UID", "")) or "(no UID)"
        kind = _kind(event, path, text, uid)
        # RFC 5545 end: DTEND, else DTSTART + DURATION, else one day for a date
        first, last = _moment(event.start), _moment(event.end)
        name = str(event.get("SUMMARY", uid))
        periods.append(ChangePeriod(kind, name, uid, first, last))
    return sorted(periods, key=lambda period: (period.start, period.uid))


class ChangeCalendar:
    """The change calendar in ``path``, expanded ``horizon`` ahead and re-read on change."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Clock = utcnow,
        horizon: timedelta = timedelta(days=7),
        sources: tuple[CalendarSource, ...] = (),
    ) -> None:
        self.path = path
        self.sources = sources
        self.problem: str | None = None  # why the file in place is not the one in force
        self._clock = clock
        self._horizon = horizon
        self._stamp: tuple[int, int] | None = None
        self._text = ""
        self._periods: list[ChangePeriod] = []
        self._window = (datetime.min.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC))
        self._remote: list[ChangePeriod] = []
        self._remote_problem: str | None = None
        self._remote_until = datetime.min.replace(tzinfo=UTC)
        self._refresh(self._clock(), first=True)

    def state_at(self, moment: datetime | None = None) -> ChangeState:
        """Whether a freeze or a maintenance window covers ``moment`` (now by default)."""
        at = moment if moment is not None else self._clock()
        self._refresh(at)
        if self.sources:
            self._refresh_sources(at)
        periods = (*self._periods, *self._remote)
        return ChangeState(
            freeze=_covering(periods, at, "freeze"),
            maintenance=_covering(periods, at, "maintenance"),
            problem=self._remote_problem,
        )

    def close(self) -> None:
        """Close the sources that hold connections."""
        for source in self.sources:
            source.close()

    def _refresh_sources(self, at: datetime) -> None:
        start, end = self._window
        if start <= at < self._remote_until:
            return
        periods: list[ChangePeriod] = []
        try:
            for source in self.sources:
                text = source.calendar_text()
                try:
                    periods.extend(load_periods(Path(source.name), text, start, end))
                except SourceError as exc:
                    raise ChangeSourceError(f"{source.name}: {exc.problems[0].message}") from exc
        except ChangeSourceError as exc:
            if self._remote_problem != str(exc):
                log.warning("change calendar: a freeze is assumed: %s", exc)
            self._remote, self._remote_problem = [], str(exc)
        else:
            self._remote, self._remote_problem = periods, None
        wait = min(source.cache_seconds for source in self.sources)
        self._remote_until = min(at + timedelta(seconds=wait), end - timedelta(days=1))

    def periods(self, start: datetime, end: datetime) -> list[ChangePeriod]:
        """Every period overlapping ``[start, end)``, for listings."""
        return load_periods(self.path, self._text, start, end)

    def _refresh(self, at: datetime, *, first: bool = False) -> None:
        try:
            status = self.path.stat()
            stamp = (status.st_mtime_ns, status.st_size)
        except OSError as exc:
            if first:
                raise SourceError.single(
                    "invalid change calendar", self.path, 0, f"cannot read: {exc.strerror}"
                ) from exc
            self._keep_last_good(f"cannot read: {exc.strerror}")
            return
        start, end = self._window
        if stamp == self._stamp and start <= at < end - timedelta(days=1):
            return
        try:
            text = self.path.read_text(encoding="utf-8") if stamp != self._stamp else self._text
            window = (at - timedelta(days=1), at + self._horizon)
            periods = load_periods(self.path, text, *window)
        except (OSError, UnicodeDecodeError, SourceError) as exc:
            if first:
                if isinstance(exc, SourceError):
                    raise
                raise SourceError.single(
                    "invalid change calendar", self.path, 0, "cannot read: not UTF-8 text"
                ) from exc
            self._keep_last_good(str(exc))
            return
        self._stamp, self._text, self._periods, self._window = stamp, text, periods, window
        self.problem = None

    def _keep_last_good(self, why: str) -> None:
        if self.problem != why:
            log.warning("%s: keeping the last good change calendar: %s", self.path, why)
        self.problem = why


def _covering(
    periods: Iterable[ChangePeriod], at: datetime, kind: PeriodKind
) -> ChangePeriod | None:
    return next((p for p in periods if p.kind == kind and p.covers(at)), None)
