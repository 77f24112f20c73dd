"""ServiceNow's blackout and maintenance schedules decide freezes and windows, merged with
the calendar file; a ServiceNow that cannot be read fails closed (a freeze is assumed)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from gateway.audit.log import read_lines
from gateway.audit.records import parse_record
from gateway.changes.calendar import ChangeCalendar
from gateway.changes.errors import ChangeSourceError
from gateway.changes.servicenow import ServiceNowSchedules, ServiceNowTables
from gateway.changes.servicenow_settings import ServiceNowChangeSettings
from gateway.cli import cli
from tests.changes.servicenow_change_server import PASSWORD, USER, ServiceNowChangeServer

REPO = Path(__file__).resolve().parents[2]
GRANT = ("--actor", "omar", "--action", "access.grant", "--resource", "account:tom")
EMPTY = REPO / "gateway" / "defaults" / "change-calendar.ics"
STAMP = "%Y%m%dT%H%M%S"


@pytest.fixture
def servicenow() -> Iterator[ServiceNowChangeServer]:
    server = ServiceNowChangeServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, servicenow: ServiceNowChangeServer
) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations" / "workflows", tmp_path / "automations" / "workflows")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SN_CHANGES_PASSWORD", PASSWORD)
    (tmp_path / "gateway.toml").write_text(
        f'[changes.servicenow]\ninstance_url = "{servicenow.base_url}"\nusername = "{USER}"\n'
        'password_env = "SN_CHANGES_PASSWORD"\nmax_retries = 0\n',
        encoding="utf-8",
    )
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def recorded_contexts(workdir: Path) -> list[object]:
    lines = read_lines(workdir / "var" / "audit.log")
    records = [parse_record(line, n) for n, line in enumerate(lines)]
    return [r.payload["context"] for r in records if r.type == "decision"]


def around_now(hours: int = 1) -> tuple[str, str]:
    now = datetime.now(UTC)
    return f"{now - timedelta(minutes=5):{STAMP}}", f"{now + timedelta(hours=hours):{STAMP}}"


def tables(server: ServiceNowChangeServer, **extra: object) -> ServiceNowTables:
    settings = ServiceNowChangeSettings.model_validate(
        {"instance_url": server.base_url, "username": USER, "password": PASSWORD,
         "max_retries": 0, **extra}
    )  # fmt: skip
    return ServiceNowTables(settings)


def test_a_blackout_schedule_in_servicenow_refuses_a_change_action(
    workdir: Path, servicenow: ServiceNowChangeServer
) -> None:
    servicenow.schedule("b1", "Quarter-end blackout", "blackout")
    servicenow.span("s1", "b1", *around_now())

    code, out, _ = invoke("authorize", *GRANT, "--context", "system=payroll", "--json")

    decision = json.loads(out)
    assert code == 3
    assert "change-freeze" in {reason["policy"] for reason in decision["reasons"]}
    assert recorded_contexts(workdir) == [
        {"system": "payroll", "change_freeze": True, "change_window": False}
    ]


def test_a_recurring_maintenance_schedule_opens_a_window(
    workdir: Path, servicenow: ServiceNowChangeServer
) -> None:
    zone = ZoneInfo("Europe/Amsterdam")  # the entry's times are in its schedule's zone
    now = datetime.now(zone)
    start, end = f"{now - timedelta(minutes=5):{STAMP}}", f"{now + timedelta(hours=1):{STAMP}}"
    week_ago = (now - timedelta(days=7)).strftime("%Y%m%d")
    servicenow.schedule("m1", "Patch window", "maintenance", time_zone="Europe/Amsterdam")
    servicenow.schedule("o1", "Office hours", "excluded")
    # every day, started a week ago: the occurrence of today covers now
    servicenow.span("s2", "m1", week_ago + start[8:], week_ago + end[8:], repeat_type="daily")
    servicenow.span("s3", "o1", *around_now())

    code, out, _ = invoke("authorize", *GRANT, "--context", "system=payroll", "--json")

    context = json.loads(out)["request"]["context"]
    assert code == 0
    assert context["change_window"] is True
    assert context["change_freeze"] is False
    queries = [r.query["sysparm_query"] for r in servicenow.requests]
    assert queries == ["typeINblackout,maintenance", "scheduleINm1"]


def test_servicenow_down_assumes_a_freeze_and_says_why(
    workdir: Path, servicenow: ServiceNowChangeServer
) -> None:
    servicenow.stop()

    code, out, _ = invoke("authorize", *GRANT, "--context", "system=payroll", "--json")
    reset, _, _ = invoke(
        "authorize", "--actor", "elena", "--action", "password.reset", "--resource", "account:tom"
    )

    context = json.loads(out)["request"]["context"]
    assert code == 3
    assert context["change_freeze"] is True
    assert context["change_window"] is False
    assert context["change_calendar_problem"].startswith(
        "ServiceNow GET /api/now/table/cmn_schedule: ServiceNow cannot be reached"
    )
    assert PASSWORD not in out
    assert reset == 0  # standard work goes on


def test_a_broken_recurrence_in_servicenow_is_a_clear_error_and_a_freeze(
    workdir: Path, servicenow: ServiceNowChangeServer
) -> None:
    servicenow.schedule("m1", "Patch window", "maintenance")
    servicenow.span("bad", "m1", *around_now(), repeat_type="weekly", days_of_week="19")

    code, out, _ = invoke("authorize", *GRANT, "--context", "system=payroll", "--json")

    assert code == 3
    assert json.loads(out)["request"]["context"]["change_calendar_problem"] == (
        "ServiceNow cmn_schedule_span bad of schedule 'Patch window': days_of_week must be "
        "digits 1 (Monday) to 7, found '19'"
    )


@pytest.mark.parametrize(
    ("fields", "schedule_zone", "problem"),
    [
        ({"repeat_type": "fortnightly"}, "", "unknown repeat_type 'fortnightly'"),
        (
            {"repeat_type": "daily", "repeat_count": "x"},
            "",
            "repeat_count must be a whole number, found 'x'",
        ),
        (
            {"repeat_type": "daily", "repeat_until": "2027"},
            "",
            "repeat_until must be YYYYMMDD, found '2027'",
        ),
        (
            {"start_date_time": "2026-12-01"},
            "",
            "start_date_time must be YYYYMMDDTHHMMSS, found '2026-12-01'",
        ),
        ({"end_date_time": "20000101T000000"}, "", "end_date_time is not after start_date_time"),
        ({}, "Mars/Olympus", "unknown time_zone 'Mars/Olympus'"),
    ],
    ids=[
        "an unknown repeat type",
        "a repeat count that is not a number",
        "a repeat end that is not a date",
        "a start that is not in the schedule format",
        "an end before the start",
        "an unknown time zone",
    ],
)
def test_a_bad_schedule_entry_names_the_entry(
    servicenow: ServiceNowChangeServer, fields: dict[str, str], schedule_zone: str, problem: str
) -> None:
    servicenow.schedule("m1", "Patch window", "maintenance", time_zone=schedule_zone)
    servicenow.span("e1", "m1", *around_now(), **fields)

    calendar = ChangeCalendar(EMPTY, sources=(ServiceNowSchedules(tables(servicenow)),))
    state = calendar.state_at()
    calendar.close()

    assert state.frozen
    assert state.problem == f"ServiceNow cmn_schedule_span e1 of schedule 'Patch window': {problem}"


def test_schedules_are_read_once_per_cache_period_and_again_after_it(
    servicenow: ServiceNowChangeServer,
) -> None:
    now = datetime.now(UTC)
    moments = iter([now, now, now + timedelta(seconds=30), now + timedelta(seconds=61)])
    servicenow.schedule("b1", "Blackout", "blackout")
    start, end = around_now()
    servicenow.span("s1", "b1", start, end, name="Release freeze", repeat_type="weekdays",
                    repeat_count="1", repeat_until="20991231")  # fmt: skip
    source = ServiceNowSchedules(tables(servicenow))
    calendar = ChangeCalendar(EMPTY, clock=lambda: next(moments), sources=(source,))

    first = calendar.state_at()
    calls = len(servicenow.requests)
    calendar.state_at()
    assert len(servicenow.requests) == calls
    servicenow.fail(1, 503)
    later = calendar.state_at()
    calendar.close()

    assert first.freeze is not None
    assert first.freeze.name == "Release freeze"
    assert later.problem == "ServiceNow GET /api/now/table/cmn_schedule: ServiceNow HTTP 503"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (
            (401, {"error": {"message": "User Not Authenticated", "detail": "Required"}}),
            "HTTP 401: User Not Authenticated: Required",
        ),
        ((403, {"no": "error"}), "HTTP 403: no error details"),
        ((404, []), "HTTP 404: no error details"),
        ((200, {"records": []}), "answer has no result"),
        ((200, {"result": {"sys_id": "1"}}), "result is not a list of records"),
    ],
    ids=[
        "a refusal with a message",
        "a refusal without one",
        "a refusal that is not an object",
        "an answer without result",
        "a result that is not a list",
    ],
)
def test_an_answer_that_is_not_a_schedule_list_is_a_clear_error(
    servicenow: ServiceNowChangeServer, answer: tuple[int, object], problem: str
) -> None:
    servicenow.canned.append(answer)  # type: ignore[arg-type]

    source = ServiceNowSchedules(tables(servicenow))
    with pytest.raises(ChangeSourceError) as caught:
        source.calendar_text()
    source.close()

    assert problem in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_a_password_variable_that_is_not_set_stops_the_gateway_naming_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SN_CHANGES_PASSWORD")

    code, _, err = invoke("authorize", *GRANT)

    assert code == 4
    assert "changes.servicenow.password_env: environment variable SN_CHANGES_PASSWORD" in err
