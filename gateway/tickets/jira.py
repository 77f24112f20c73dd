"""Jira Service Management, Cloud or Data Center: JQL polling, reads and write-back, and
the verification of its webhooks.

Webhooks registered with a secret carry ``X-Hub-Signature: sha256=<hex>``, the
HMAC-SHA256 of the raw body keyed with the secret; ``X-Atlassian-Webhook-Identifier`` is
the same on every retry of one delivery.

Polling (the fallback when webhooks cannot reach the gateway) searches with the edition's
own search (``jira_search``: enhanced JQL search on Cloud, ``/rest/api/2/search`` on Data
Center; the edition is configured or read from ``serverInfo``) for the configured JQL and
``updated >= "yyyy/MM/dd HH:mm"``: the newest ``updated`` seen, less ``overlap_minutes``,
written in the API user's time zone (``myself``), ordered by ``updated``.  Issues seen
again in the overlap keep their event key (key and ``updated``) and are taken once.
Each issue is read with the reporter's email looked up by ``accountId`` when it is hidden
and its Service Management request type (``jira_people``).  On Cloud, issues the gateway
wrote to are named in ``reconcileIssues`` on the next search, so the search sees the write.

Reads and write-back use the edition's REST version: v3 on Cloud (descriptions and
comment bodies in Atlassian Document Format, read as text and written one paragraph per
line) and v2 on Data Center (plain text).  Write-back: a comment (internal for work
notes), then for a resolution the first available transition named in
``resolve_transitions`` with ``resolution``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from gateway.http import open_client
from gateway.tickets.adf import text_adf
from gateway.tickets.errors import (
    HelpDeskError,
    SignatureError,
    TicketEventError,
    UnknownTicketError,
)
from gateway.tickets.helpdesk import PollBatch, Rejected
from gateway.tickets.jira_people import JiraLookups
from gateway.tickets.jira_search import (
    MAX_RECONCILE,
    Edition,
    cloud_pages,
    datacenter_pages,
    edition_of,
    jql_since,
    parse_updated,
    user_zone,
)
from gateway.tickets.jsontext import dumps_kept
from gateway.tickets.model import Ticket, TicketEvent
from gateway.tickets.payloads import jira_polled_event, jira_ticket
from gateway.tickets.settings import JiraSettings
from gateway.tickets.transport import DeskHttp, desk_policy
from gateway.tickets.writeback import WriteBack, WriteBackKind

__all__ = ["SIGNATURE_HEADER", "JiraDesk", "jira_signature", "verify_jira_signature"]

SIGNATURE_HEADER = "X-Hub-Signature"
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
FIELDS = (
    "summary", "description", "reporter", "status", "priority", "updated", "labels",
    "issuetype", "components",
)  # fmt: skip
MAX_KNOWN_IDS = 10_000


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
            basic=(settings.email, settings.secret("api_token")),
            timeout=settings.timeout_seconds,
            verify=settings.verify_tls,
            transport=transport,
        )
        policy = desk_policy(settings.max_retries, settings.max_wait_seconds)
        self._http = DeskHttp("Jira", client, policy, describe_error, sleep=sleep)
        chosen = settings.edition
        self._edition: Edition | None = None if chosen == "auto" else Edition(chosen)
        self._lookups = JiraLookups(self._http)
        self._ids: dict[str, int] = {}  # issue key -> id, for reconcileIssues
        self._reconcile: list[int] = []  # ids of issues written to since the last search
        self._refused: set[str] = set()  # digests of issues already dead-lettered

    def __repr__(self) -> str:
        return f"JiraDesk({self.settings.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def verify(self, body: bytes, header: str | None) -> None:
        secret = self.settings.webhook_secret
        if secret is None:
            raise SignatureError("no Jira webhook secret is configured (webhook_secret_env)")
        verify_jira_signature(secret.get_secret_value(), body, header)

    def edition(self) -> Edition:
        """The configured edition, or the one ``serverInfo`` names (asked once)."""
        if self._edition is None:
            response = self._http.call("GET", "/rest/api/2/serverInfo")
            self._edition = edition_of(self._http.json(response))
        return self._edition

    def read(self, issue: Any) -> TicketEvent:
        """A polled issue replayed from the dead letters, completed as a round completes it
        (its reporter and request type asked again); its time is not a watermark here."""
        event = jira_polled_event(issue)
        return replace(event, ticket=self._complete(event.ticket, issue, self.edition()))

    def _read(self, issue: Any, edition: Edition) -> TicketEvent:
        event = jira_polled_event(issue)
        parse_updated(event.ticket.updated_at)
        return replace(event, ticket=self._complete(event.ticket, issue, edition))

    def _complete(self, ticket: Ticket, issue: Any, edition: Edition) -> Ticket:
        ident = issue.get("id")
        if isinstance(ident, str) and ident.isdigit():
            if len(self._ids) >= MAX_KNOWN_IDS:
                self._ids.clear()
            self._ids[ticket.id] = int(ident)
        if edition is Edition.CLOUD:
            ticket = self._lookups.reporter(ticket)
        if self.settings.request_types:
            ticket = self._lookups.request_type(ticket)
        return ticket

    def _pages(self, edition: Edition, jql: str) -> Any:
        limits = {"limit": self.settings.max_records, "page_size": self.settings.page_size}
        if edition is Edition.CLOUD:
            return cloud_pages(self._http, jql, fields=FIELDS, reconcile=self._reconcile, **limits)
        return datacenter_pages(self._http, jql, fields=FIELDS, **limits)

    def _reject(self, rejected: list[Rejected], reason: str, body: bytes) -> None:
        """Keep an unreadable issue once: the overlap window brings it back each round."""
        digest = hashlib.sha256(body).hexdigest()
        if digest in self._refused:
            return
        if len(self._refused) >= MAX_KNOWN_IDS:
            self._refused.clear()
        self._refused.add(digest)
        rejected.append(Rejected(reason, body))

    def changes(self, since: str | None) -> PollBatch:
        edition = self.edition()
        jql = f"({self.settings.jql})"
        if since is not None:
            myself = self._http.json(self._http.call("GET", f"/rest/api/{edition.api}/myself"))
            overlap = timedelta(minutes=self.settings.overlap_minutes)
            jql += " AND " + jql_since(since, user_zone(myself), overlap)
        jql += " ORDER BY updated ASC, key ASC"
        events: list[TicketEvent] = []
        rejected: list[Rejected] = []
        newest = since
        for page in self._pages(edition, jql):
            for issue in page:
                try:
                    event = self._read(issue, edition)
                except (TicketEventError, ValueError) as exc:
                    reason = str(exc) if isinstance(exc, TicketEventError) else "updated: bad time"
                    self._reject(rejected, reason, dumps_kept(issue))
                    continue
                events.append(event)
                updated = event.ticket.updated_at
                if newest is None or parse_updated(updated) > parse_updated(newest):
                    newest = updated
        self._reconcile.clear()
        return PollBatch(events, rejected, newest)

    def fetch(self, ticket_id: str) -> Ticket:
        def missing() -> Exception:
            return UnknownTicketError(f"issue {ticket_id} does not exist in Jira")

        edition = self.edition()
        response = self._http.call(
            "GET",
            f"/rest/api/{edition.api}/issue/{quote(ticket_id, safe='')}",
            params={"fields": ",".join(FIELDS)},
            not_found=missing,
        )
        issue = self._http.json(response)
        return self._complete(jira_ticket(issue), issue, edition)

    def _comment(self, issue_path: str, key: str, text: str, *, internal: bool) -> None:
        cloud = self.edition() is Edition.CLOUD
        body: dict[str, Any] = {"body": text_adf(text) if cloud else text}
        if internal:
            body["properties"] = [{"key": "sd.public.comment", "value": {"internal": True}}]
        self._http.call(
            "POST",
            f"{issue_path}/comment",
            json=body,
            not_found=lambda: UnknownTicketError(f"issue {key} does not exist in Jira"),
        )

    def deliver(self, item: WriteBack) -> None:
        key = item.ticket_id
        ident = self._ids.get(key)
        if ident is not None and ident not in self._reconcile:
            self._reconcile.append(ident)
            del self._reconcile[:-MAX_RECONCILE]
        issue_path = f"/rest/api/{self.edition().api}/issue/{quote(key, safe='')}"
        if item.kind is not WriteBackKind.RESOLVE:
            internal = item.kind is WriteBackKind.WORK_NOTE and self.settings.internal_notes
            self._comment(issue_path, key, item.text, internal=internal)
            return
        path = f"{issue_path}/transitions"
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
        self._comment(issue_path, key, item.text, internal=False)
        self._http.call(
            "POST",
            path,
            json={
                "transition": {"id": str(chosen.get("id"))},
                "fields": {"resolution": {"name": self.settings.resolution}},
            },
        )
