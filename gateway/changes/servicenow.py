"""ServiceNow as a change calendar source: blackout and maintenance schedules.

Read through the Table API (``GET /api/now/table/cmn_schedule`` for the schedules whose
``type`` is a blackout or maintenance type, then ``GET /api/now/table/cmn_schedule_span``
for their entries), as ServiceNow documents in "Create blackout and maintenance schedules
in Change Management" and "Define a schedule".  Calls go through ``gateway.http``: 429 and
5xx are retried, then the source is unavailable; every failure is a
``ChangeSourceError`` naming ServiceNow and the table, never the credential.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from gateway.changes.errors import ChangeSourceError
from gateway.changes.servicenow_settings import ServiceNowChangeSettings
from gateway.changes.spans import span_event
from gateway.http import Failure, RetryingClient, RetryPolicy, map_failure, open_client
from gateway.http.servicenow_errors import servicenow_error_text

__all__ = ["ServiceNowSchedules", "ServiceNowTables", "calendar_text"]

PAGE = 1000
MAX_PAGES = 20
HEADER = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//it-support-gateway//servicenow//EN"]
_SPAN_FIELDS = (
    "sys_id,name,schedule,start_date_time,end_date_time,repeat_type,repeat_count,"
    "days_of_week,repeat_until"
)


class ServiceNowTables:
    """Table API calls to one instance, failures as ``ChangeSourceError``."""

    def __init__(
        self,
        settings: ServiceNowChangeSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        client = open_client(
            base_url=settings.instance_url,
            basic=(settings.username, settings.secret("password")),
            timeout=settings.timeout_seconds,
            verify=settings.verify_tls,
            transport=transport,
        )
        policy = RetryPolicy(
            max_retries=settings.max_retries,
            backoff_seconds=0.5,
            max_wait_seconds=settings.max_wait_seconds,
            retry_transport_errors=False,
        )
        self._http = RetryingClient(
            client, name="ServiceNow", policy=policy, unavailable=self._unavailable, sleep=sleep
        )

    def close(self) -> None:
        self._http.close()

    @staticmethod
    def _unavailable(failure: Failure) -> ChangeSourceError:
        return map_failure(
            failure, ChangeSourceError, lambda f: f"{f.where}: ServiceNow {f.problem}"
        )

    def call(self, method: str, table: str, suffix: str = "", **options: Any) -> Any:
        """The ``result`` of one call; ``ChangeSourceError`` for anything else."""
        path = f"/api/now/table/{table}{suffix}"
        response = self._http.request(method, path, where=f"ServiceNow {method} {path}", **options)
        if response.status_code >= 400:
            error = servicenow_error_text(response)
            raise ChangeSourceError(
                f"ServiceNow {method} {path}: HTTP {response.status_code}: {error}"
            )
        try:
            body = response.json()
        except ValueError:
            raise ChangeSourceError(f"ServiceNow {method} {path}: answer is not JSON") from None
        if not isinstance(body, dict) or "result" not in body:
            raise ChangeSourceError(f"ServiceNow {method} {path}: answer has no result")
        return body["result"]

    def rows(self, table: str, query: str, fields: str) -> list[Mapping[str, Any]]:
        """Every record of ``table`` matching the encoded ``query``, page by page."""
        found: list[Mapping[str, Any]] = []
        for page in range(MAX_PAGES):
            params = {
                "sysparm_query": query,
                "sysparm_fields": fields,
                "sysparm_exclude_reference_link": "true",
                "sysparm_limit": str(PAGE),
                "sysparm_offset": str(page * PAGE),
            }
            result = self.call("GET", table, params=params)
            if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
                raise ChangeSourceError(f"ServiceNow GET {table}: result is not a list of records")
            found.extend(result)
            if len(result) < PAGE:
                return found
        raise ChangeSourceError(f"ServiceNow GET {table}: more than {MAX_PAGES * PAGE} records")


def calendar_text(
    schedules: Sequence[Mapping[str, Any]],
    spans: Sequence[Mapping[str, Any]],
    categories: Mapping[str, str],
) -> str:
    """An iCalendar text of ``spans``, each categorised by its schedule's ``type``."""
    by_id = {str(s.get("sys_id", "")): s for s in schedules}
    lines = list(HEADER)
    for span in spans:
        reference = span.get("schedule")
        owner = reference.get("value") if isinstance(reference, Mapping) else reference
        schedule = by_id.get(str(owner or ""), {})
        category = categories.get(str(schedule.get("type", "")).strip().lower())
        if category is None:
            continue  # an entry of a schedule that is neither blackout nor maintenance
        lines.extend(span_event(span, schedule, category))
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


class ServiceNowSchedules:
    """A calendar source: ServiceNow's blackout (``FREEZE``) and maintenance
    (``MAINTENANCE``) schedules as one iCalendar text."""

    name = "ServiceNow change schedules"

    def __init__(self, tables: ServiceNowTables) -> None:
        self.tables = tables
        settings = tables.settings
        self.cache_seconds = settings.cache_seconds
        self._categories = {t.lower(): "FREEZE" for t in settings.blackout_types}
        self._categories.update({t.lower(): "MAINTENANCE" for t in settings.maintenance_types})

    def close(self) -> None:
        self.tables.close()

    def calendar_text(self) -> str:
        query = "typeIN" + ",".join(sorted(self._categories))
        schedules = self.tables.rows("cmn_schedule", query, "sys_id,name,type,time_zone")
        if not schedules:
            return calendar_text([], [], self._categories)
        ids = ",".join(str(s.get("sys_id", "")) for s in schedules)
        spans = self.tables.rows("cmn_schedule_span", f"scheduleIN{ids}", _SPAN_FIELDS)
        return calendar_text(schedules, spans, self._categories)
