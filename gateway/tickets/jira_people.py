"""What an issue does not say by itself: who the reporter is, and the request type.

- **Reporter.**  Jira Cloud names people by ``accountId``; their ``emailAddress`` is often
  left out by their privacy settings.  A reporter without an email (or, on Data Center, a
  username) is looked up with ``GET /rest/api/3/user?accountId=...``; the email found
  there is the requester's, matched to a directory person by the router.  When Jira shows
  none, the ticket says why (``requester_unverified``) and the router leaves it to people:
  nobody is guessed.  Answers are kept for the desk's life (at most ``MAX_PEOPLE``).
- **Request type.**  Jira Service Management keeps it with the customer request:
  ``GET /rest/servicedeskapi/request/{issueIdOrKey}?expand=requestType`` ->
  ``requestType.name`` (and ``requestTypeId``), kept as the ticket fields
  ``request_type`` and ``request_type_id`` for triggers and routes.  An issue that is not
  a customer request (404) has none; an answer without the name is refused.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from gateway.tickets.errors import TicketEventError
from gateway.tickets.model import Ticket
from gateway.tickets.transport import DeskHttp

__all__ = ["MAX_PEOPLE", "JiraLookups"]

MAX_PEOPLE = 1000


class _Absent(Exception):
    """Jira answered 404 for a look-up."""


def _absent() -> Exception:
    return _Absent()


class JiraLookups:
    def __init__(self, http: DeskHttp) -> None:
        self._http = http
        self._people: dict[str, tuple[str | None, str]] = {}  # accountId -> (email, why not)

    def _person(self, account: str) -> tuple[str | None, str]:
        known = self._people.get(account)
        if known is not None:
            return known
        try:
            response = self._http.call(
                "GET", "/rest/api/3/user", params={"accountId": account}, not_found=_absent
            )
        except _Absent:
            found: tuple[str | None, str] = (None, f"Jira has no user with accountId {account}")
        else:
            user = self._http.json(response)
            email = user.get("emailAddress") if isinstance(user, dict) else None
            if isinstance(email, str) and email.strip():
                found = (email.strip(), "")
            else:
                found = (
                    None,
                    f"Jira shows no email address for accountId {account} (the person's "
                    "privacy settings hide it), so no directory person can be matched",
                )
        if len(self._people) >= MAX_PEOPLE:
            self._people.clear()
        self._people[account] = found
        return found

    def reporter(self, ticket: Ticket) -> Ticket:
        """``ticket`` with the reporter's email from the user API when the issue has none."""
        account = ticket.fields.get("reporter_account_id")
        if ticket.requester_email or ticket.requester_username or not account:
            return ticket
        email, why = self._person(account)
        if email is None:
            return replace(ticket, requester_unverified=why)
        return replace(ticket, requester_email=email)

    def request_type(self, ticket: Ticket) -> Ticket:
        """``ticket`` with its Service Management request type, if it is a request."""
        try:
            response = self._http.call(
                "GET",
                f"/rest/servicedeskapi/request/{quote(ticket.id, safe='')}",
                params={"expand": "requestType"},
                not_found=_absent,
            )
        except _Absent:
            return ticket
        answer = self._http.json(response)
        kind = answer.get("requestType") if isinstance(answer, dict) else None
        name = kind.get("name") if isinstance(kind, dict) else None
        if not isinstance(kind, dict) or not isinstance(name, str) or not name.strip():
            raise TicketEventError(
                f"request_type: the Service Management request {ticket.number} has no "
                "requestType.name"
            )
        fields = dict(ticket.fields)
        fields["request_type"] = name.strip()[:200]
        ident = answer.get("requestTypeId", kind.get("id"))
        if isinstance(ident, str | int) and not isinstance(ident, bool):
            fields["request_type_id"] = str(ident)[:40]
        return replace(ticket, fields=fields)
