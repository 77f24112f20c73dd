"""Jira's two editions and how each is searched.

- **Cloud** removed ``GET|POST /rest/api/2|3|latest/search`` in 2025 (it answers
  ``410 Gone``).  Its search is ``POST /rest/api/3/search/jql`` with a JSON body: a
  bounded ``jql``, explicit ``fields`` (without them only ``id``, ``key`` and ``self``
  come back), ``maxResults``, ``nextPageToken`` from the previous page and, for
  read-after-write, ``reconcileIssues`` (issue ids, at most 50).  A page is ``{"issues",
  "nextPageToken", "isLast"}``: no ``total``, no ``startAt``; results are eventually
  consistent.
- **Data Center** keeps ``GET /rest/api/2/search`` (``jql``, ``startAt``, ``maxResults``,
  ``fields``), answering ``{"startAt", "maxResults", "total", "issues"}``.

``GET /rest/api/2/serverInfo`` says which one a site is (``deploymentType``: ``Cloud``,
else ``Server``/``DataCenter``).  JQL reads dates in the time zone of the user the call
runs as (``GET /rest/api/{3|2}/myself`` -> ``timeZone``), written ``"yyyy/MM/dd HH:mm"``.
A page that lacks what its edition documents stops the round with ``HelpDeskError``:
nothing is taken from a page that cannot be read whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.tickets.errors import HelpDeskError
from gateway.tickets.transport import DeskHttp

__all__ = [
    "MAX_RECONCILE",
    "Edition",
    "cloud_pages",
    "datacenter_pages",
    "edition_of",
    "jql_since",
    "parse_updated",
    "user_zone",
]

MAX_RECONCILE = 50
_UPDATED = "%Y-%m-%dT%H:%M:%S.%f%z"
_SETTING = "[tickets.jira] edition"


class Edition(StrEnum):
    CLOUD = "cloud"
    DATACENTER = "datacenter"

    @property
    def api(self) -> str:
        """The REST API version the gateway reads this edition with."""
        return "3" if self is Edition.CLOUD else "2"


def edition_of(server_info: Any) -> Edition:
    """The edition a ``serverInfo`` answer names, or ``HelpDeskError``."""
    kind = server_info.get("deploymentType") if isinstance(server_info, dict) else None
    if kind == "Cloud":
        return Edition.CLOUD
    if kind in ("Server", "DataCenter", "Data Center"):
        return Edition.DATACENTER
    found = "no deploymentType" if kind is None else f"deploymentType {str(kind)[:40]!r}"
    raise HelpDeskError(f'Jira: serverInfo has {found}; set {_SETTING} to "cloud" or "datacenter"')


def user_zone(myself: Any) -> ZoneInfo:
    """The time zone of the API user (``myself``), in which JQL reads dates."""
    name = myself.get("timeZone") if isinstance(myself, dict) else None
    if not isinstance(name, str) or not name:
        raise HelpDeskError("Jira: myself has no timeZone; JQL dates cannot be placed")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HelpDeskError(f"Jira: the API user's time zone {name[:60]!r} is unknown") from exc


def parse_updated(updated: str) -> datetime:
    """An issue's ``updated`` (``2024-05-01T09:00:00.000+0000``) as an aware time."""
    return datetime.strptime(updated, _UPDATED)


def jql_since(watermark: str, zone: ZoneInfo, overlap: timedelta) -> str:
    """The JQL clause for changes since ``watermark`` less ``overlap``, in ``zone``."""
    moment = (parse_updated(watermark).astimezone(UTC) - overlap).astimezone(zone)
    return f'updated >= "{moment:%Y/%m/%d %H:%M}"'


def _issues(answer: Any) -> list[Any]:
    issues = answer.get("issues") if isinstance(answer, dict) else None
    if not isinstance(issues, list):
        raise HelpDeskError("Jira: search answer has no issues list")
    return issues


def cloud_pages(
    http: DeskHttp,
    jql: str,
    *,
    fields: Sequence[str],
    limit: int,
    page_size: int,
    reconcile: Sequence[int] = (),
) -> Iterator[list[Any]]:
    """The pages of an enhanced JQL search, at most ``limit`` issues in all."""
    path = "/rest/api/3/search/jql"

    def missing() -> Exception:
        return HelpDeskError(
            f"Jira POST {path}: HTTP 404: this site has no enhanced JQL search (Jira Data "
            f'Center?); set {_SETTING} to "datacenter" or "auto"'
        )

    token: str | None = None
    seen = 0
    while seen < limit:
        body: dict[str, Any] = {
            "jql": jql,
            "fields": list(fields),
            "maxResults": min(page_size, limit - seen),
        }
        if token is not None:
            body["nextPageToken"] = token
        if reconcile:
            body["reconcileIssues"] = list(reconcile)[:MAX_RECONCILE]
        answer = http.json(http.call("POST", path, json=body, not_found=missing))
        issues = _issues(answer)
        yield issues
        seen += len(issues)
        following = answer.get("nextPageToken")
        if answer.get("isLast") is True or not issues:
            return
        if not isinstance(following, str) or not following:
            if answer.get("isLast") is False:
                raise HelpDeskError("Jira: search page is not the last but has no nextPageToken")
            return
        token = following


def datacenter_pages(
    http: DeskHttp, jql: str, *, fields: Sequence[str], limit: int, page_size: int
) -> Iterator[list[Any]]:
    """The pages of a ``/rest/api/2/search``, at most ``limit`` issues in all."""
    path = "/rest/api/2/search"

    def gone() -> Exception:
        return HelpDeskError(
            f"Jira GET {path}: HTTP 410 Gone: Jira Cloud removed this search; set "
            f'{_SETTING} to "cloud" or "auto"'
        )

    start = 0
    while start < limit:
        params = {
            "jql": jql,
            "startAt": start,
            "maxResults": min(page_size, limit - start),
            "fields": ",".join(fields),
        }
        answer = http.json(http.call("GET", path, params=params, refusals={410: gone}))
        issues = _issues(answer)
        total = answer.get("total")
        if not isinstance(total, int) or isinstance(total, bool):
            raise HelpDeskError("Jira: search answer has no total")
        yield issues
        start += len(issues)
        if not issues or start >= total:
            return
