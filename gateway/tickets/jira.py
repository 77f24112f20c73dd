"""Jira Service Management over its REST API (v2): JQL polling, reads and write-back,
and the verification of its webhooks.

Webhooks registered with a secret carry ``X-Hub-Signature: sha256=<hex>``, the
HMAC-SHA256 of the raw body keyed with the secret; ``X-Atlassian-Webhook-Identifier`` is
the same on every retry of one delivery.  Polling (the fallback when webhooks cannot
reach the gateway) asks ``GET /rest/api/2/search`` with the configured JQL and
``updated >= "yyyy/MM/dd HH:mm"`` (JQL has minute resolution; events already seen are
recognised by key and ``updated``), ordered by ``updated``, paged by ``startAt``.
Write-back: a comment (internal for work notes), then for a resolution the first
available transition named in ``resolve_transitions`` with ``resolution``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from gateway.http import open_client
from gateway.tickets.errors import (
    HelpDeskError,
    SignatureError,
    TicketEventError,
    UnknownTicketError,
)
from gateway.tickets.helpdesk import PollBatch, Rejected
from gateway.tickets.jsontext import dumps_kept
from gateway.tickets.model import Ticket, TicketEvent
from gateway.tickets.payloads import jira_polled_event, jira_ticket
from gateway.tickets.settings import JiraSettings
from gateway.tickets.transport import DeskHttp, desk_policy
from gateway.tickets.writeback import WriteBack, WriteBackKind

__all__ = ["SIGNATURE_HEADER", "JiraDesk", "jira_signature", "verify_jira_signature"]

SIGNATURE_HEADER = "X-Hub-Signature"
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
FIELDS = "summary,description,reporter,status,priority,updated,labels,issuetype,components"
_UPDATED = "%Y-%m-%dT%H:%M:%S.%f%z"


def jira_signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value Jira sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_jira_signature(secret: str, body: bytes, header: str | None) -> None:
    """Raise ``SignatureError`` unless ``header`` is the body's signature."""
    if not header:
        raise SignatureError(f"{SIGNATURE_HEADER} is missing: the webhook is not signed")
    method, _, digest = header.partition("=")
    if method.strip().lower() != "sha256" or not digest:
        raise SignatureError(f"{SIGNATURE_HEADER}: expected sha256=<hex>")
    if not hmac.compare_digest(jira_signature(secret, body), f"sha256={digest.strip().lower()}"):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body and the shared secret")


def describe_error(response: httpx.Response) -> str:
    """Jira's ``{"errorMessages": [...], "errors": {field: message}}``."""
    try:
        body = response.json()
        messages = [str(m) for m in body.get("errorMessages") or []]
        messages += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
    except (ValueError, AttributeError, RecursionError):
        return "no error details"
    return "; ".join(messages)[:300] or "no error details"


def _moment(updated: str) -> datetime:
    return datetime.strptime(updated, _UPDATED)


class JiraDesk:
    """A ``TicketSource`` over a Jira site."""

    name = "jira"

    def __init__(
        self,
        settings: JiraSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        client = open_client(
            base_url=settings.base_url,
            basic=(settings.email, settings.api_token),
            timeout=settings.timeout_seconds,
            verify=settings.verify_tls,
            transport=transport,
        )
        policy = desk_policy(settings.max_retries, settings.max_wait_seconds)
        self._http = DeskHttp("Jira", client, policy, describe_error, sleep=sleep)

    def __repr__(self) -> str:
        return f"JiraDesk({self.settings.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def verify(self, body: bytes, header: str | None) -> None:
        secret = self.settings.webhook_secret
        if secret is None:
            raise SignatureError("no Jira webhook secret is configured (webhook_secret_env)")
        verify_jira_signature(secret.get_secret_value(), body, header)

    def changes(self, since: str | None) -> PollBatch:
        jql = f"({self.settings.jql})"
        if since is not None:
            moment = _moment(since).astimezone(UTC)
            jql += f' AND updated >= "{moment:%Y/%m/%d %H:%M}"'
        jql += " ORDER BY updated ASC, key ASC"
        events: list[TicketEvent] = []
        rejected: list[Rejected] = []
        newest = since
        start = 0
        while start < self.settings.max_records:
            response = self._http.call(
                "GET",
                "/rest/api/2/search",
                params={
                    "jql": jql,
                    "startAt": start,
                    "maxResults": min(self.settings.page_size, self.settings.max_records - start),
                    "fields": FIELDS,
                },
            )
            body = self._http.json(response)
            issues = body.get("issues") if isinstance(body, dict) else None
            if not isinstance(issues, list):
                raise HelpDeskError("Jira: search answer has no issues list")
            for issue in issues:
                try:
                    event = jira_polled_event(issue)
                    moment = _moment(event.ticket.updated_at)
                except (TicketEventError, ValueError) as exc:
                    reason = str(exc) if isinstance(exc, TicketEventError) else "updated: bad time"
                    rejected.append(Rejected(reason, dumps_kept(issue)))
                    continue
                events.append(event)
                if newest is None or moment > _moment(newest):
                    newest = event.ticket.updated_at
            start += len(issues)
            total = body.get("total")
            if not issues or (isinstance(total, int) and start >= total):
                break
        return PollBatch(events, rejected, newest)

    def fetch(self, ticket_id: str) -> Ticket:
        def missing() -> Exception:
            return UnknownTicketError(f"issue {ticket_id} does not exist in Jira")

        response = self._http.call(
            "GET",
            f"/rest/api/2/issue/{quote(ticket_id, safe='')}",
            params={"fields": FIELDS},
            not_found=missing,
        )
        return jira_ticket(self._http.json(response))

    def _comment(self, key: str, text: str, *, internal: bool) -> None:
        body: dict[str, Any] = {"body": text}
        if internal:
            body["properties"] = [{"key": "sd.public.comment", "value": {"internal": True}}]
        self._http.call(
            "POST",
            f"/rest/api/2/issue/{quote(key, safe='')}/comment",
            json=body,
            not_found=lambda: UnknownTicketError(f"issue {key} does not exist in Jira"),
        )

    def deliver(self, item: WriteBack) -> None:
        key = item.ticket_id
        if item.kind is not WriteBackKind.RESOLVE:
            internal = item.kind is WriteBackKind.WORK_NOTE and self.settings.internal_notes
            self._comment(key, item.text, internal=internal)
            return
        path = f"/rest/api/2/issue/{quote(key, safe='')}/transitions"
        response = self._http.call(
            "GET", path, not_found=lambda: UnknownTicketError(f"issue {key} does not exist")
        )
        body = self._http.json(response)
        available = body.get("transitions") if isinstance(body, dict) else None
        wanted = [name.casefold() for name in self.settings.resolve_transitions]
        chosen = next(
            (
                t
                for name in wanted
                for t in (available or [])
                if isinstance(t, dict) and str(t.get("name", "")).casefold() == name
            ),
            None,
        )
        if chosen is None:
            names = ", ".join(self.settings.resolve_transitions)
            raise HelpDeskError(f"Jira: issue {key} has no transition named {names} now")
        self._comment(key, item.text, internal=False)
        self._http.call(
            "POST",
            path,
            json={
                "transition": {"id": str(chosen.get("id"))},
                "fields": {"resolution": {"name": self.settings.resolution}},
            },
        )
