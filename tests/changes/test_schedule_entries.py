"""ServiceNow schedule entries become calendar periods as ServiceNow means them; what
cannot be read is a clear error naming the source, and a freeze."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import gateway.changes
import gateway.changes.servicenow as servicenow_module
from gateway.changes.calendar import ChangeCalendar, load_periods
from gateway.changes.errors import ChangeSourceError
from gateway.changes.servicenow import ServiceNowSchedules, ServiceNowTables, calendar_text
from gateway.changes.servicenow_settings import ServiceNowChangeSettings
from tests.changes.servicenow_change_server import PASSWORD, USER, ServiceNowChangeServer

REPO = Path(__file__).resolve().parents[2]
EMPTY = REPO / "gateway" / "defaults" / "change-calendar.ics"
CATEGORIES = {"blackout": "FREEZE", "maintenance": "MAINTENANCE"}
WINDOW = {"sys_id": "m1", "name": "Patch window", "type": "maintenance", "time_zone": None}


@pytest.fixture
def server() -> Iterator[ServiceNowChangeServer]:
    found = ServiceNowChangeServer()
    found.start()
    yield found
    found.stop()


def source(server: ServiceNowChangeServer) -> ServiceNowSchedules:
    settings = ServiceNowChangeSettings(
        instance_url=server.base_url, username=USER, password=PASSWORD, max_retries=0
    )
    return ServiceNowSchedules(ServiceNowTables(settings))


def starts(spans: list[dict[str, object]], start: str, end: str) -> list[datetime]:
    text = calendar_text([WINDOW], spans, CATEGORIES)
    moments = (datetime.fromisoformat(start), datetime.fromisoformat(end))
    return [p.start for p in load_periods(Path("sn"), text, *moments)]


def test_a_weekly_entry_every_second_week_on_named_days() -> None:
    span = {"sys_id": "w", "schedule": {"value": "m1"}, "start_date_time": "20261207T020000",
            "end_date_time": "20261207T040000", "repeat_type": "weekly",
            "days_of_week": "17", "repeat_count": "2"}  # fmt: skip

    found = starts([span], "2026-12-07T00:00:00+00:00", "2026-12-28T00:00:00+00:00")

    assert [f"{moment:%a %d}" for moment in found] == ["Mon 07", "Sun 13", "Mon 21", "Sun 27"]


@pytest.mark.parametrize("days", ["", "8"], ids=["no day", "a day past Sunday"])
def test_a_weekly_entry_needs_days_of_the_week(days: str) -> None:
    span = {"sys_id": "w", "schedule": "m1", "start_date_time": "20261207T020000",
            "end_date_time": "20261207T040000", "repeat_type": "weekly",
            "days_of_week": days}  # fmt: skip

    with pytest.raises(ChangeSourceError, match="days_of_week must be digits"):
        calendar_text([WINDOW], [span], CATEGORIES)


def test_an_entry_of_a_schedule_that_is_not_a_change_schedule_is_left_out() -> None:
    span = {"sys_id": "x", "schedule": "other", "start_date_time": "20261207T020000",
            "end_date_time": "20261207T040000"}  # fmt: skip

    assert starts([span], "2026-12-01T00:00:00+00:00", "2026-12-31T00:00:00+00:00") == []


def test_no_change_schedules_is_an_empty_calendar(server: ServiceNowChangeServer) -> None:
    schedules = source(server)

    text = schedules.calendar_text()
    schedules.close()

    assert "BEGIN:VEVENT" not in text
    assert len(server.requests) == 1


def test_entries_are_read_page_by_page_and_bounded(
    server: ServiceNowChangeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(servicenow_module, "PAGE", 2)
    monkeypatch.setattr(servicenow_module, "MAX_PAGES", 2)
    server.schedule("m1", "Patch window", "maintenance")
    for n in range(3):
        server.span(f"s{n}", "m1", "20261207T020000", "20261207T040000")
    schedules = source(server)
    text = schedules.calendar_text()
    server.span("s3", "m1", "20261207T020000", "20261207T040000")

    with pytest.raises(ChangeSourceError, match="cmn_schedule_span: more than 4 records"):
        schedules.calendar_text()
    schedules.close()
    assert text.count("BEGIN:VEVENT") == 3


@pytest.mark.parametrize(
    ("body", "problem"),
    [(b"<html>login</html>", "answer is not JSON"), (b'"text"', "answer has no result")],
    ids=["a login page", "JSON that is not an object"],
)
def test_an_answer_that_is_not_a_table_answer_is_a_clear_error(body: bytes, problem: str) -> None:
    settings = ServiceNowChangeSettings(
        instance_url="https://example.service-now.com", username=USER, password=PASSWORD
    )
    answer = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    schedules = ServiceNowSchedules(ServiceNowTables(settings, transport=answer))

    with pytest.raises(ChangeSourceError) as caught:
        schedules.calendar_text()
    schedules.close()

    assert str(caught.value) == f"ServiceNow GET /api/now/table/cmn_schedule: {problem}"


class Garbage:
    """A source that answers with something that is not iCalendar."""

    name = "garbage source"
    cache_seconds = 0.0

    def calendar_text(self) -> str:
        return "not a calendar"

    def close(self) -> None:
        """Nothing to close."""


def test_a_source_that_is_not_a_calendar_is_a_freeze_named_once_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = datetime.now(UTC)
    moments = iter([now, now, now + timedelta(seconds=1)])
    calendar = ChangeCalendar(EMPTY, clock=lambda: next(moments), sources=(Garbage(),))

    first, second = calendar.state_at(), calendar.state_at()
    calendar.close()

    assert first.problem is not None
    assert first.problem.startswith("garbage source: not iCalendar")
    assert second.context()["change_calendar_problem"] == first.problem
    assert len([r for r in caplog.records if "a freeze is assumed" in r.message]) == 1


def test_the_package_names_what_it_exports() -> None:
    assert gateway.changes.ChangeCalendar is ChangeCalendar
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = gateway.changes.nothing  # type: ignore[attr-defined]
