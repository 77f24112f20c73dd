"""Guardrails that need no counting, and the dry run that shows them all."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from gateway.selfservice.definitions import MaintenanceWindow
from gateway.selfservice.guardrails import in_window
from gateway.selfservice.model import RunState
from tests.selfservice.harness import Stack

# 2024-06-09 is a Sunday, 2024-06-10 a Monday.
pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


OVERNIGHT = MaintenanceWindow(days=["sun"], start=time(22, 0), end=time(2, 0))


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        pytest.param(datetime(2024, 6, 9, 23, 0, tzinfo=UTC), True, id="sunday late evening"),
        pytest.param(datetime(2024, 6, 10, 1, 0, tzinfo=UTC), True, id="after midnight"),
        pytest.param(datetime(2024, 6, 10, 3, 0, tzinfo=UTC), False, id="monday after the end"),
        pytest.param(datetime(2024, 6, 10, 23, 0, tzinfo=UTC), False, id="monday evening"),
        pytest.param(datetime(2024, 6, 9, 1, 0, tzinfo=UTC), False, id="sunday small hours"),
    ],
)
def test_a_window_past_midnight(moment: datetime, inside: bool) -> None:
    assert in_window(OVERNIGHT, moment) is inside


def test_a_dry_run_shows_what_would_happen_and_executes_nothing(stack: Stack) -> None:
    plan = stack.service.dry_run(
        "tom", "install-software", {"title": "visio", "devices": "tom-laptop,tom-desktop"}
    )
    body = plan.as_json()
    assert body["would_run"] is True
    assert body["needs_approval"] is True
    assert [e["parameters"] for e in body["executions"]] == [
        {"title": "visio", "device": "tom-laptop"},
        {"title": "visio", "device": "tom-desktop"},
    ]
    assert body["guardrails"] == [
        "rate limit for everyone together: 0 of 600 per 1m",
        "your quota: 0 of 3 this day",
        "concurrent runs: 0 of 200",
    ]
    assert stack.executor.recent() == []
    assert stack.service.recent() == []
    assert stack.service.usage().total.dry_runs == 1
    assert stack.audit_records("selfservice.dry_run")[0]["item"] == "install-software"


def test_a_dry_run_says_when_a_run_would_be_refused(stack: Stack) -> None:
    for _ in range(3):
        stack.service.run("tom", "install-software", {"title": "7zip", "devices": "tom-laptop"})
    body = stack.service.dry_run(
        "tom", "install-software", {"title": "7zip", "devices": "tom-laptop"}
    ).as_json()
    assert body["would_run"] is False
    assert body["refusal"]["reason"] == "quota"
    denied = stack.service.dry_run(
        "tom", "grant-temporary-access", {"users": "tom", "system": "crm"}
    )
    assert denied.allowed is False
    assert any("IT department only" in reason for reason in denied.reasons)


def test_the_it_department_runs_it_tools_and_more_than_two_need_approval(stack: Stack) -> None:
    one = stack.service.run("elena", "grant-temporary-access", {"users": "tom", "system": "crm"})
    assert one.state in (RunState.RUNNING, RunState.SUCCEEDED, RunState.FAILED)
    many = stack.service.run(
        "elena", "grant-temporary-access", {"users": "tom,priya,grace", "system": "wiki"}
    )
    assert many.state is RunState.PENDING_APPROVAL
    assert many.targets == ("tom", "priya", "grace")
