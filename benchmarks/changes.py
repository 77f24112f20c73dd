"""The cost of a change-calendar check: what every decision pays to learn whether a freeze
is in force and a maintenance window open.

Run with ``python -m benchmarks.changes [--json]`` (``make bench``).

``ChangeCalendar.state_at()`` is timed one call at a time (``time.perf_counter_ns``) for
20,000 calls after a warm-up, in two set-ups:

* **file**: the calendar file of ``docs/change-calendar.md`` (a recurring year-end freeze
  and a weekly maintenance window) plus 50 more recurring events, expanded a week ahead; a
  check is a ``stat`` of the file and a scan of the expanded periods;
* **file + ServiceNow**: the same file merged with 20 blackout and maintenance schedule
  entries read from a local server answering as ServiceNow's Table API
  (``tests/changes/servicenow_change_server.py``) and cached (``cache_seconds = 60``), so a
  check reads the network once a minute, not per decision.

Naive baseline: parsing and expanding the file on every check
(``load_periods`` over the day), as a first script would.  Goal: a check at most 0.1 ms
(p50 and p99 reported).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.changes.calendar import ChangeCalendar, load_periods
from gateway.changes.servicenow import ServiceNowSchedules, ServiceNowTables
from gateway.changes.servicenow_settings import ServiceNowChangeSettings
from tests.changes.servicenow_change_server import PASSWORD, USER, ServiceNowChangeServer

CALLS = 20_000
GOAL_MS = 0.1


def calendar_file(folder: Path) -> Path:
    events = []
    for n in range(52):
        kind = "FREEZE" if n % 4 == 0 else "MAINTENANCE"
        rule = (
            "FREQ=YEARLY"
            if kind == "FREEZE"
            else f"FREQ=WEEKLY;BYDAY={['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'][n % 7]}"
        )
        events.append(
            f"BEGIN:VEVENT\r\nUID:e{n}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:event {n}\r\n"
            f"CATEGORIES:{kind}\r\nDTSTART:2026{1 + n % 12:02d}{1 + n % 27:02d}T020000Z\r\n"
            f"DURATION:PT4H\r\nRRULE:{rule}\r\nEND:VEVENT\r\n"
        )
    path = folder / "changes.ics"
    path.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"
        + "".join(events)
        + "END:VCALENDAR\r\n",
        encoding="utf-8",
    )
    return path


def timed(check: Callable[[], object], calls: int) -> dict[str, float]:
    for _ in range(200):
        check()
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        check()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 4),
        "p99_ms": round(samples[int(len(samples) * 0.99)], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--calls", type=int, default=CALLS)
    args = parser.parse_args()
    server = ServiceNowChangeServer()
    server.start()
    try:
        for n in range(20):
            server.schedule(f"s{n}", f"schedule {n}", "blackout" if n % 2 else "maintenance")
            server.span(f"e{n}", f"s{n}", f"202612{1 + n:02d}T010000", f"202612{1 + n:02d}T030000",
                        repeat_type="weekly", days_of_week=str(1 + n % 7))  # fmt: skip
        settings = ServiceNowChangeSettings(
            instance_url=server.base_url, username=USER, password=PASSWORD
        )
        with tempfile.TemporaryDirectory() as folder:
            path = calendar_file(Path(folder))
            plain = ChangeCalendar(path)
            merged = ChangeCalendar(
                path, sources=(ServiceNowSchedules(ServiceNowTables(settings)),)
            )
            now = datetime.now(UTC)
            text = path.read_text(encoding="utf-8")
            rows = {
                "file": timed(plain.state_at, args.calls),
                "file + ServiceNow (cached)": timed(merged.state_at, args.calls),
                "naive: parse and expand per check": timed(
                    lambda: load_periods(
                        path, text, now - timedelta(days=1), now + timedelta(days=1)
                    ),
                    max(args.calls // 100, 50),
                ),
            }
            merged.close()
    finally:
        server.stop()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"change-calendar check, {args.calls} calls (goal: at most {GOAL_MS} ms)")
    for name, row in rows.items():
        print(f"  {name:38} p50 {row['p50_ms']:.4f} ms   p99 {row['p99_ms']:.4f} ms")


if __name__ == "__main__":
    main()
