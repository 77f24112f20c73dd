"""The change calendar: freezes and maintenance windows read from an iCalendar file."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.changes import ChangeCalendar, load_periods
from gateway.errors import SourceError

HEADER = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//changes//EN\r\n"
FOOTER = "END:VCALENDAR\r\n"


def event(uid: str, *lines: str) -> str:
    body = "".join(f"{line}\r\n" for line in lines)
    return f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{body}END:VEVENT\r\n"


def calendar(*events: str) -> str:
    return HEADER + "".join(events) + FOOTER


YEAR_END = event(
    "year-end",
    "SUMMARY:Year-end freeze",
    "CATEGORIES:FREEZE",
    "DTSTART;VALUE=DATE:20261220",
    "DTEND;VALUE=DATE:20270104",
    "RRULE:FREQ=YEARLY",
)
SUNDAYS = event(
    "sundays",
    "SUMMARY:Sunday maintenance",
    "CATEGORIES:MAINTENANCE",
    "DTSTART:20260104T020000Z",
    "DURATION:PT4H",
    "RRULE:FREQ=WEEKLY;BYDAY=SU",
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def ics(tmp_path: Path) -> Path:
    path = tmp_path / "changes.ics"
    path.write_text(calendar(YEAR_END, SUNDAYS), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("moment", "frozen", "maintenance"),
    [
        ("2026-12-06T03:00:00", False, "Sunday maintenance"),
        ("2026-12-06T07:00:00", False, None),
        ("2026-12-25T12:00:00", True, None),
        ("2027-12-26T03:00:00", True, "Sunday maintenance"),
        ("2027-01-04T00:00:00", False, None),
    ],
    ids=[
        "a sunday night is a maintenance window",
        "a sunday morning after the window is neither",
        "christmas falls in the year-end freeze",
        "the freeze recurs the next year, windows too",
        "the freeze ends at midnight of its end date",
    ],
)
def test_the_calendar_says_what_covers_a_moment(
    ics: Path, moment: str, frozen: bool, maintenance: str | None
) -> None:
    state = ChangeCalendar(ics, clock=lambda: at(moment)).state_at()

    assert state.frozen is frozen
    assert state.context() == {"change_freeze": frozen, "change_window": maintenance is not None}
    assert (state.maintenance.name if state.maintenance else None) == maintenance


def test_a_zoned_event_is_compared_in_utc_and_a_floating_one_is_utc(tmp_path: Path) -> None:
    path = tmp_path / "c.ics"
    path.write_text(
        calendar(
            event("berlin", "CATEGORIES:FREEZE", "DTSTART;TZID=Europe/Berlin:20261207T090000",
                  "DTEND;TZID=Europe/Berlin:20261207T100000"),
            event("floating", "CATEGORIES:freeze", "DTSTART:20261208T090000",
                  "DTEND:20261208T100000"),
        ),
        encoding="utf-8",
    )  # fmt: skip
    changes = ChangeCalendar(path, clock=lambda: at("2026-12-07T00:00:00"))

    assert changes.state_at(at("2026-12-07T08:30:00")).freeze is not None  # 09:30 in Berlin
    assert changes.state_at(at("2026-12-07T09:30:00")).freeze is None
    assert changes.state_at(at("2026-12-08T09:30:00")).freeze is not None


def test_an_all_day_event_without_an_end_lasts_one_day_and_a_moment_none(tmp_path: Path) -> None:
    path = tmp_path / "c.ics"
    path.write_text(
        calendar(
            event("day", "CATEGORIES:FREEZE", "DTSTART;VALUE=DATE:20261210"),
            event("instant", "CATEGORIES:MAINTENANCE", "DTSTART:20261211T100000Z"),
        ),
        encoding="utf-8",
    )
    changes = ChangeCalendar(path, clock=lambda: at("2026-12-09T00:00:00"))

    assert changes.state_at(at("2026-12-10T23:59:59")).frozen
    assert not changes.state_at(at("2026-12-11T00:00:00")).frozen
    assert changes.state_at(at("2026-12-11T10:00:00")).maintenance is None
    listed = changes.periods(at("2026-12-01T00:00:00"), at("2026-12-31T00:00:00"))
    assert [(p.uid, p.kind, p.name) for p in listed] == [
        ("day", "freeze", "day"),
        ("instant", "maintenance", "instant"),
    ]


@pytest.mark.parametrize(
    ("lines", "found"),
    [
        (("CATEGORIES:HOLIDAY",), "found HOLIDAY"),
        ((), "found none"),
        (("CATEGORIES:FREEZE,MAINTENANCE",), "found FREEZE, MAINTENANCE"),
    ],
    ids=["an unknown category", "no category", "both categories"],
)
def test_an_event_that_is_neither_freeze_nor_window_is_refused_with_its_line(
    tmp_path: Path, lines: tuple[str, ...], found: str
) -> None:
    path = tmp_path / "c.ics"
    path.write_text(
        calendar(YEAR_END, event("odd", *lines, "DTSTART:20261207T090000Z")), encoding="utf-8"
    )

    with pytest.raises(SourceError) as caught:
        ChangeCalendar(path, clock=lambda: at("2026-12-07T00:00:00"))

    (problem,) = caught.value.problems
    assert problem.file == str(path)
    assert path.read_text().splitlines()[problem.line - 1] == "UID:odd"
    assert problem.message == (
        f"event 'odd': CATEGORIES must hold exactly one of FREEZE or MAINTENANCE, {found}"
    )


def test_a_file_that_is_not_icalendar_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "c.ics"
    path.write_text("freeze: always\n", encoding="utf-8")

    with pytest.raises(SourceError, match=r"c\.ics: not iCalendar: "):
        ChangeCalendar(path)


@pytest.mark.parametrize("content", [None, b"\xff\xfe not utf-8"], ids=["missing", "not text"])
def test_a_calendar_that_cannot_be_read_at_start_is_refused(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "c.ics"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(SourceError, match="cannot read"):
        ChangeCalendar(path)


def test_a_changed_file_is_read_again(ics: Path) -> None:
    changes = ChangeCalendar(ics, clock=lambda: at("2026-12-07T12:00:00"))
    assert not changes.state_at().frozen

    ics.write_text(
        calendar(event("now", "CATEGORIES:FREEZE", "DTSTART:20261207T000000Z", "DURATION:P1D")),
        encoding="utf-8",
    )
    os.utime(ics, ns=(1, 1))  # a different stamp even within one clock tick

    assert changes.state_at().frozen
    assert changes.problem is None


@pytest.mark.parametrize("breakage", ["garbled", "deleted"])
def test_a_broken_or_deleted_file_keeps_the_last_good_calendar(
    ics: Path, breakage: str, caplog: pytest.LogCaptureFixture
) -> None:
    changes = ChangeCalendar(ics, clock=lambda: at("2026-12-25T12:00:00"))

    if breakage == "garbled":
        ics.write_text("garbled", encoding="utf-8")
        os.utime(ics, ns=(1, 1))
    else:
        ics.unlink()

    assert changes.state_at().frozen  # the year-end freeze still holds
    assert changes.state_at().frozen
    assert changes.problem is not None
    assert len([r for r in caplog.records if "keeping the last good" in r.message]) == 1


def test_the_expansion_moves_with_time(ics: Path) -> None:
    now = [at("2026-12-01T00:00:00")]
    changes = ChangeCalendar(ics, clock=lambda: now[0], horizon=timedelta(days=2))
    assert not changes.state_at().frozen

    now[0] = at("2026-12-21T00:00:00")

    assert changes.state_at().frozen
    assert not changes.state_at(at("2026-11-30T00:00:00")).frozen


def test_load_periods_lists_occurrences_in_order(ics: Path) -> None:
    periods = load_periods(
        ics, ics.read_text(), at("2026-12-19T00:00:00"), at("2026-12-28T00:00:00")
    )

    assert [(p.kind, p.start.day) for p in periods] == [
        ("freeze", 20),
        ("maintenance", 20),
        ("maintenance", 27),
    ]


def test_an_event_without_a_uid_is_located_at_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "c.ics"
    path.write_text(
        HEADER + "BEGIN:VEVENT\r\nDTSTART:20261207T090000Z\r\nEND:VEVENT\r\n" + FOOTER,
        encoding="utf-8",
    )

    with pytest.raises(SourceError) as caught:
        ChangeCalendar(path, clock=lambda: at("2026-12-07T00:00:00"))

    (problem,) = caught.value.problems
    assert problem.line == 4
    assert problem.message.startswith("event '(no UID)': CATEGORIES must hold")


def test_a_broken_recurrence_rule_in_the_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "changes.ics"
    broken = event(
        "broken", "CATEGORIES:FREEZE", "DTSTART:20261201T000000Z", "DURATION:PT1H",
        "RRULE:FREQ=SOMETIMES",
    )  # fmt: skip
    path.write_text(calendar(broken), encoding="utf-8")

    with pytest.raises(SourceError, match=r"changes\.ics: not iCalendar: ") as caught:
        ChangeCalendar(path)

    assert "SOMETIMES" in str(caught.value.problems[0])
