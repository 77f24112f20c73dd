"""Usage analytics: runs, outcomes, refusals by reason, minutes saved and tickets
deflected, per item and per department; as JSON, CSV and Prometheus metrics text.

A succeeded run is one ticket deflected; it saves the item's ``minutes_saved`` for each
target it acted on.  Refused runs are counted as refusals, not as runs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.selfservice.model import RefusalReason, RunState
from gateway.selfservice.store import UsageRow

__all__ = ["Usage", "UsageReport", "prometheus_text"]

_REASONS = [str(reason) for reason in RefusalReason]
CSV_FIELDS = [
    "item",
    "department",
    "runs",
    "succeeded",
    "failed",
    "cancelled",
    "in_progress",
    "dry_runs",
    "minutes_saved",
    "tickets_deflected",
    "refusals",
    *(f"refused_{reason}" for reason in _REASONS),
]


@dataclass
class Usage:
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    in_progress: int = 0
    dry_runs: int = 0
    minutes_saved: int = 0
    refusals: dict[str, int] = field(default_factory=dict)

    @property
    def tickets_deflected(self) -> int:
        return self.succeeded

    def add(self, kind: str, key: str, count: int) -> None:
        if kind == "refusal":
            self.refusals[key] = self.refusals.get(key, 0) + count
        elif kind == "dry_run":
            self.dry_runs += count
        elif kind == "minutes":
            self.minutes_saved += count
        elif key != RunState.REFUSED:
            self.runs += count
            if key == RunState.SUCCEEDED:
                self.succeeded += count
            elif key == RunState.FAILED:
                self.failed += count
            elif key == RunState.CANCELLED:
                self.cancelled += count
            else:
                self.in_progress += count

    def as_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "in_progress": self.in_progress,
            "dry_runs": self.dry_runs,
            "minutes_saved": self.minutes_saved,
            "tickets_deflected": self.tickets_deflected,
            "refusals": dict(sorted(self.refusals.items())),
        }


@dataclass
class UsageReport:
    cells: dict[tuple[str, str], Usage] = field(default_factory=dict)
    items: dict[str, Usage] = field(default_factory=dict)
    departments: dict[str, Usage] = field(default_factory=dict)
    total: Usage = field(default_factory=Usage)

    @classmethod
    def from_rows(cls, rows: Iterable[UsageRow]) -> UsageReport:
        report = cls()
        for kind, item, department, key, count in rows:
            for usage in (
                report.cells.setdefault((item, department), Usage()),
                report.items.setdefault(item, Usage()),
                report.departments.setdefault(department, Usage()),
                report.total,
            ):
                usage.add(kind, key, count)
        return report

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total.as_json(),
            "items": {k: v.as_json() for k, v in sorted(self.items.items())},
            "departments": {k: v.as_json() for k, v in sorted(self.departments.items())},
            "rows": [
                {"item": item, "department": department, **usage.as_json()}
                for (item, department), usage in sorted(self.cells.items())
            ],
        }

    def to_csv(self) -> str:
        """One row per item and department, refusal reasons as columns."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        for (item, department), usage in sorted(self.cells.items()):
            data = usage.as_json()
            refusals = data.pop("refusals")
            row: dict[str, Any] = {"item": item, "department": department, **data}
            row["refusals"] = sum(refusals.values())
            for reason in _REASONS:
                row[f"refused_{reason}"] = refusals.get(reason, 0)
            writer.writerow({k: _cell(v) for k, v in row.items()})
        return out.getvalue()


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula is quoted with a leading '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_METRICS = [
    ("runs_total", "Catalog runs admitted, by item, department and outcome."),
    ("refusals_total", "Catalog runs refused, by item, department and reason."),
    ("dry_runs_total", "Catalog dry runs, by item and department."),
    ("minutes_saved_total", "Minutes of support work saved by succeeded runs."),
    ("tickets_deflected_total", "Tickets not opened because a run succeeded."),
]


def prometheus_text(report: UsageReport, prefix: str = "gateway_selfservice_") -> str:
    """The report in the Prometheus text exposition format (counters)."""
    lines: dict[str, list[str]] = {name: [] for name, _ in _METRICS}
    for (item, department), usage in sorted(report.cells.items()):
        where = f'item="{_label(item)}",department="{_label(department)}"'
        for outcome, count in (
            ("succeeded", usage.succeeded),
            ("failed", usage.failed),
            ("cancelled", usage.cancelled),
            ("in_progress", usage.in_progress),
        ):
            if count:
                lines["runs_total"].append(f'{{{where},outcome="{outcome}"}} {count}')
        for reason, count in sorted(usage.refusals.items()):
            lines["refusals_total"].append(f'{{{where},reason="{_label(reason)}"}} {count}')
        if usage.dry_runs:
            lines["dry_runs_total"].append(f"{{{where}}} {usage.dry_runs}")
        lines["minutes_saved_total"].append(f"{{{where}}} {usage.minutes_saved}")
        lines["tickets_deflected_total"].append(f"{{{where}}} {usage.tickets_deflected}")
    text: list[str] = []
    for name, help_text in _METRICS:
        text.append(f"# HELP {prefix}{name} {help_text}")
        text.append(f"# TYPE {prefix}{name} counter")
        text.extend(f"{prefix}{name}{sample}" for sample in lines[name])
    return "\n".join(text) + "\n"
