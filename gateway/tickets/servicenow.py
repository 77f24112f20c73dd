"""ServiceNow over the Table API: incremental polling, ticket reads and write-back.

Polling asks ``GET /api/now/table/<table>`` with ``sysparm_query`` = the configured
query, ``sys_updated_on>=<watermark>`` and ``ORDERBYsys_updated_on^ORDERBYsys_id``,
``sysparm_limit``/``sysparm_offset`` pages, until a short page, ``X-Total-Count`` or
``max_records``.  The watermark is inclusive (the field has one-second resolution);
events already seen are recognised by their key (``sys_id`` and ``sys_updated_on``).
Each record's references that came without their dot-walked fields (the caller, the
groups, the configuration item) are read by sys_id (``servicenow_refs``, cached).
Write-back patches standard fields only: ``comments``, ``work_notes``, and ``state`` with
``close_code`` and ``close_notes``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx

from gateway.http import open_client
from gateway.http.servicenow_errors import servicenow_error_text
from gateway.tickets.errors import HelpDeskError, TicketEventError, UnknownTicketError
from gateway.tickets.helpdesk import PollBatch, Rejected
from gateway.tickets.jsontext import dumps_kept
from gateway.tickets.model import Ticket, TicketEvent
from gateway.tickets.servicenow_records import servicenow_event, servicenow_ticket
from gateway.tickets.servicenow_refs import ReferenceCache, ServiceNowReferences
from gateway.tickets.settings import ServiceNowSettings
from gateway.tickets.transport import DeskHttp, desk_policy
from gateway.tickets.writeback import WriteBack, WriteBackKind

__all__ = ["FIELDS", "ServiceNowDesk"]

FIELDS = (
    "sys_id,number,short_description,description,caller_id,caller_id.user_name,"
    "caller_id.email,caller_id.name,urgency,impact,priority,state,active,category,"
    "subcategory,contact_type,opened_at,opened_by,opened_by.user_name,assigned_to,"
    "assigned_to.user_name,sys_updated_on,cmdb_ci,cmdb_ci.name,cmdb_ci.asset_tag,"
    "assignment_group,assignment_group.name"
)


class ServiceNowDesk:
    """A ``TicketSource`` over one ServiceNow table."""

    name = "servicenow"

    def __init__(
        self,
        settings: ServiceNowSettings,
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
        policy = desk_policy(settings.max_retries, settings.max_wait_seconds)
        self._http = DeskHttp("ServiceNow", client, policy, servicenow_error_text, sleep=sleep)
        self._path = f"/api/now/table/{settings.table}"
        cache = ReferenceCache(settings.reference_ttl_seconds, settings.reference_cache_size)
        self.references = ServiceNowReferences(self._http, cache)

    def __repr__(self) -> str:
        return f"ServiceNowDesk({self.settings.instance_url!r}, table={self.settings.table!r})"

    def close(self) -> None:
        self._http.close()

    def _records(self, response: httpx.Response) -> list[Any]:
        body = self._http.json(response)
        result = body.get("result") if isinstance(body, dict) else None
        if isinstance(result, dict):
            return [result]
        if not isinstance(result, list):
            raise HelpDeskError("ServiceNow: answer has no result list")
        return result

    def changes(self, since: str | None) -> PollBatch:
        clauses = [self.settings.query] if self.settings.query else []
        if since is not None:
            clauses.append(f"sys_updated_on>={since}")
        clauses.append("ORDERBYsys_updated_on^ORDERBYsys_id")
        events: list[TicketEvent] = []
        rejected: list[Rejected] = []
        newest = since
        offset = 0
        size = self.settings.page_size
        while offset < self.settings.max_records:
            response = self._http.call(
                "GET",
                self._path,
                params={
                    "sysparm_query": "^".join(clauses),
                    "sysparm_limit": min(size, self.settings.max_records - offset),
                    "sysparm_offset": offset,
                    "sysparm_fields": FIELDS,
                    "sysparm_exclude_reference_link": "true",
                },
            )
            page = self._records(response)
            for record in page:
                try:
                    if not isinstance(record, dict):
                        raise TicketEventError("record: expected an object")
                    event = servicenow_event(record, "poll")
                    event = replace(event, ticket=self.references.complete(event.ticket))
                except TicketEventError as exc:
                    rejected.append(Rejected(str(exc), dumps_kept(record)))
                    continue
                events.append(event)
                if newest is None or event.ticket.updated_at > newest:
                    newest = event.ticket.updated_at
            offset += len(page)
            total = response.headers.get("X-Total-Count", "")
            if len(page) < size or (total.isdigit() and offset >= int(total)):
                break
        return PollBatch(events, rejected, newest)

    def fetch(self, ticket_id: str) -> Ticket:
        def missing() -> Exception:
            return UnknownTicketError(f"ticket {ticket_id} does not exist in ServiceNow")

        response = self._http.call(
            "GET",
            f"{self._path}/{ticket_id}",
            params={"sysparm_fields": FIELDS, "sysparm_exclude_reference_link": "true"},
            not_found=missing,
        )
        (record,) = self._records(response)[:1] or [None]
        if not isinstance(record, dict):
            raise HelpDeskError("ServiceNow: answer has no record")
        return self.references.complete(servicenow_ticket(record))

    def deliver(self, item: WriteBack) -> None:
        body: dict[str, str]
        if item.kind is WriteBackKind.COMMENT:
            body = {"comments": item.text}
        elif item.kind is WriteBackKind.WORK_NOTE:
            body = {"work_notes": item.text}
        else:
            body = {
                "state": self.settings.resolved_state,
                "close_code": self.settings.close_code,
                "close_notes": item.text,
            }

        def missing() -> Exception:
            return UnknownTicketError(f"ticket {item.ticket} does not exist in ServiceNow")

        self._http.call("PATCH", f"{self._path}/{item.ticket_id}", json=body, not_found=missing)
