"""What a ServiceNow record says only by reference: who called, who opened it, which group
and which configuration item.

A record read without dot-walked fields carries its references as ``{"link", "value"}``
(``value`` is the referenced record's sys_id), as the bare sys_id
(``sysparm_exclude_reference_link=true``) or with ``display_value``
(``sysparm_display_value=all``).  Each reference the ticket needs is read once with
``GET /api/now/table/<table>/<sys_id>`` and ``sysparm_fields``:

- ``caller_id`` -> ``sys_user`` (``user_name``, ``email``, ``name``): the requester, matched
  to a directory person by the router;
- ``opened_by``, ``assigned_to`` -> ``sys_user`` (``user_name``);
- ``assignment_group`` -> ``sys_user_group`` (``name``);
- ``cmdb_ci`` -> ``cmdb_ci`` (``name``, ``asset_tag``): the device the asset source knows.

A caller that resolves to nothing (404, or a user with neither ``user_name`` nor ``email``)
leaves the requester unverified with the reason, so the ticket goes to people; nobody is
guessed.  Answers, including "no such record", are kept ``ttl_seconds`` in a cache of at
most ``max_entries``: at most one look-up per distinct reference per TTL.  A ServiceNow
that cannot answer raises ``HelpDeskUnavailableError`` (nothing is cached).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from gateway.tickets.model import Ticket
from gateway.tickets.transport import DeskHttp

__all__ = ["ReferenceCache", "ServiceNowReferences", "unresolvable"]

_USER_FIELDS = "sys_id,user_name,email,name"
_LOOKUPS = {  # reference field -> (table, sysparm_fields, field of the answer kept)
    "opened_by": ("sys_user", _USER_FIELDS, "user_name"),
    "assigned_to": ("sys_user", _USER_FIELDS, "user_name"),
    "assignment_group": ("sys_user_group", "sys_id,name", "name"),
}

Record = dict[str, str]


class _Absent(Exception):
    """ServiceNow answered 404 (no such record, or ACLs hide it), 401 or 403."""


def _absent() -> Exception:
    return _Absent()


class ReferenceCache:
    """Answers by ``(table, sys_id)`` for ``ttl_seconds``, the oldest dropped beyond
    ``max_entries``; ``None`` stands for "no such record"."""

    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, Record | None]] = OrderedDict()

    def get(self, key: tuple[str, str]) -> tuple[bool, Record | None]:
        """``(found, answer)``; an expired answer is not found."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        if entry[0] <= self._clock():
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, entry[1]

    def put(self, key: tuple[str, str], answer: Record | None) -> None:
        self._entries[key] = (self._clock() + self.ttl_seconds, answer)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def _texts(answer: Any) -> Record | None:
    """The string fields of a Table API record answer; None when it holds no record."""
    result = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(result, dict) or not result:
        return None
    return {
        str(name): value.strip()[:400] for name, value in result.items() if isinstance(value, str)
    }


def unresolvable(ticket: Ticket) -> Ticket:
    """``ticket`` as it must stay when no ServiceNow instance is set up to read its
    references: a caller known only by reference is not verified."""
    caller = ticket.fields.get("caller_id_sys_id")
    if ticket.requester_email or ticket.requester_username or not caller:
        return ticket
    return replace(
        ticket,
        requester_unverified=(
            f"caller_id is only a reference (sys_user {caller}) and no ServiceNow instance "
            "is set up to look it up ([tickets.servicenow])"
        ),
    )


class ServiceNowReferences:
    """Completes tickets with their referenced records, through one desk's HTTP client."""

    def __init__(self, http: DeskHttp, cache: ReferenceCache) -> None:
        self._http = http
        self.cache = cache
        self.lookups = 0  # requests made (a cached answer is not one)

    def _record(self, table: str, sys_id: str, fields: str) -> Record | None:
        key = (table, sys_id)
        found, answer = self.cache.get(key)
        if found:
            return answer
        self.lookups += 1
        try:
            response = self._http.call(
                "GET",
                f"/api/now/table/{table}/{quote(sys_id, safe='')}",
                params={"sysparm_fields": fields, "sysparm_exclude_reference_link": "true"},
                not_found=_absent,
                refusals={401: _absent, 403: _absent},  # a record the account may not read
            )
        except _Absent:
            answer = None
        else:
            answer = _texts(self._http.json(response))
        self.cache.put(key, answer)
        return answer

    def complete(self, ticket: Ticket) -> Ticket:
        """``ticket`` with every reference it carries only as a sys_id read; a closed
        ticket is left as it is (nothing is done with it)."""
        if ticket.closed:
            return ticket
        fields = dict(ticket.fields)
        for name, (table, wanted, kept) in _LOOKUPS.items():
            sys_id = fields.get(f"{name}_sys_id")
            if sys_id and name not in fields:
                record = self._record(table, sys_id, wanted)
                if record is not None and record.get(kept):
                    fields[name] = record[kept]
        ci = fields.get("cmdb_ci_sys_id")
        if ci and "cmdb_ci" not in fields and "cmdb_ci_asset_tag" not in fields:
            record = self._record("cmdb_ci", ci, "sys_id,name,asset_tag") or {}
            fields.update({k: record[v] for k, v in _CI.items() if record.get(v)})
        return self._caller(replace(ticket, fields=fields))

    def _caller(self, ticket: Ticket) -> Ticket:
        caller = ticket.fields.get("caller_id_sys_id")
        if ticket.requester_email or ticket.requester_username or not caller:
            return ticket
        user = self._record("sys_user", caller, _USER_FIELDS)
        if user is None:
            why = (
                f"caller_id refers to sys_user {caller}, which ServiceNow does not have (or "
                "does not show to the gateway's account)"
            )
            return replace(ticket, requester_unverified=why)
        username, email = user.get("user_name"), user.get("email")
        if not username and not email:
            why = f"ServiceNow's sys_user {caller} has neither a user_name nor an email"
            return replace(ticket, requester_unverified=why)
        return replace(
            ticket,
            requester_username=username or None,
            requester_email=email or None,
            requester_name=ticket.requester_name or user.get("name", ""),
        )


_CI = {"cmdb_ci": "name", "cmdb_ci_asset_tag": "asset_tag"}
