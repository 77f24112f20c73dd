"""Usage analytics: JSON, CSV and Prometheus text, per item and department."""

from __future__ import annotations

import csv
import io

import pytest

from gateway.selfservice import UsageReport, prometheus_text
from tests.selfservice.harness import Stack

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


def test_usage_per_item_and_department_in_every_format(stack: Stack) -> None:
    service = stack.service
    service.run("tom", "install-software", {"title": "7zip", "devices": "tom-laptop"})
    service.run("elena", "install-software", {"title": "7zip", "devices": "elena-laptop"})
    service.dry_run("elena", "install-software", {"title": "7zip", "devices": "elena-laptop"})
    pending = service.run("tom", "install-software", {"title": "visio", "devices": "tom-desktop"})
    report = service.usage()
    assert report.items["install-software"].as_json() == {
        "runs": 3,
        "succeeded": 2,
        "failed": 0,
        "cancelled": 0,
        "in_progress": 1,
        "dry_runs": 1,
        "minutes_saved": 40,
        "tickets_deflected": 2,
        "refusals": {},
    }
    assert report.departments["Finance"].succeeded == 1
    assert report.departments["IT"].dry_runs == 1
    assert report.as_json()["total"]["runs"] == 3
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [(r["item"], r["department"], r["succeeded"]) for r in rows] == [
        ("install-software", "Finance", "1"),
        ("install-software", "IT", "1"),
    ]
    text = prometheus_text(report)
    assert (
        'gateway_selfservice_runs_total{item="install-software",department="Finance",'
        'outcome="in_progress"} 1' in text
    )
    assert "# TYPE gateway_selfservice_minutes_saved_total counter" in text
    service.cancel(pending.id, "tom")
    assert service.usage().total.cancelled == 1


def test_labels_and_cells_are_escaped() -> None:
    report = UsageReport.from_rows(
        [
            ("run", 'we"ird\\item', "=HYPERLINK(1)\n", "failed", 2),
            ("refusal", 'we"ird\\item', "=HYPERLINK(1)\n", "quota", 1),
            ("run", "x", "Sales", "refused", 4),
        ]
    )
    text = prometheus_text(report)
    assert 'item="we\\"ird\\\\item",department="=HYPERLINK(1)\\n",outcome="failed"} 2' in text
    assert 'reason="quota"} 1' in text
    assert report.items["x"].runs == 0
    cells = list(csv.reader(io.StringIO(report.to_csv())))
    assert cells[1][1] == "'=HYPERLINK(1)\n"
    assert cells[1][CSV_INDEX_FAILED] == "2"


CSV_INDEX_FAILED = 4
