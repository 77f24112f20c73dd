"""What a ticket is about, read from its fields and its free text.

``extract`` finds the requester (from the ticket's caller fields), candidate accounts
(usernames named as ``user: tom``, ``account tom``, ``tom's password``, and email
addresses), host names (fully qualified names and device-like names such as
``tom-laptop`` or ``printer-3f``), asset tags (``LT-0452``) and the ticket's configuration
item (``cmdb_ci``, ``cmdb_ci_asset_tag``) as devices when the asset source knows them,
IPv4 and IPv6 addresses, catalog software titles,
error codes (``0x80070005``, ``AADSTS50126``, ``error 1603``), and urgency and impact
(the ticket's own fields first, else words like "urgent" or "the whole team").
Nothing here asks the directory: the router decides which candidates are real accounts.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from gateway.devices.inventory import AssetSource
from gateway.tickets.catalog import SoftwareCatalog
from gateway.tickets.model import Ticket

__all__ = ["Extraction", "extract"]

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+\b")
_USERNAME = re.compile(
    r"(?i)\b(?:user(?:name)?|account|login|user id|uid)\s*(?:[:=#]\s*|is\s+|\s)"
    r"[\"'`]?([A-Za-z][A-Za-z0-9._-]{1,63})"
)
_POSSESSIVE = re.compile(
    r"(?i)\b([A-Za-z][A-Za-z0-9._-]{1,63})['\u2019]s\s+(?:password|account|login)\b"
)
_NOT_NAMES = frozenset(
    {
        "my", "me", "i", "the", "a", "an", "our", "his", "her", "their", "him", "them",
        "this", "that", "it", "is", "was", "has", "and", "or", "for", "of", "to", "locked",
        "disabled", "name", "password", "account", "user", "login", "please", "can",
        "cannot", "not", "no", "with", "in", "on", "at", "from", "by", "again", "still",
    }
)  # fmt: skip
_FQDN = re.compile(
    r"(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:local|lan|corp|internal|intra|test|example|com|net|org|io)\b"
)
_DEVICE = re.compile(
    r"(?i)\b(?:[a-z0-9]+-)+(?:laptop|desktop|pc|ws|mac|srv|server|printer|vm)(?:-[a-z0-9]+)*\b"
    r"|\b(?:laptop|desktop|pc|ws|srv|printer|vm)-[a-z0-9]+(?:-[a-z0-9]+)*\b"
)
_ASSET_TAG = re.compile(r"\b[A-Z][A-Z0-9]{0,9}-\d{2,8}\b")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_ERROR_CODE = re.compile(
    r"\b0x[0-9A-Fa-f]{8}\b|\b[A-Z]{2,8}\d{4,6}\b|(?i:\berror(?:\s+code)?\s*[:#]?\s*)(\d{3,6})\b"
)
_URGENT = re.compile(
    r"(?i)\b(?:urgent|asap|immediately|critical|emergency|cannot work|can't work|blocked)\b"
)
_WIDE = re.compile(
    r"(?i)\b(?:everyone|whole (?:team|office|department|company)|all users|entire|"
    r"nobody can|outage)\b"
)
_SCAN_LIMIT = 20_000  # characters of free text looked at


@dataclass(frozen=True, slots=True)
class Extraction:
    requester_email: str | None
    requester_username: str | None
    usernames: tuple[str, ...]
    emails: tuple[str, ...]
    hostnames: tuple[str, ...]
    ips: tuple[str, ...]
    software: tuple[str, ...]
    error_codes: tuple[str, ...]
    urgency: int | None
    impact: int | None
    asset_tags: tuple[str, ...] = ()  # tags named in the text or carried by the ticket's CI
    devices: tuple[str, ...] = ()  # named devices, then those the asset source knows

    def as_scope(self) -> dict[str, Any]:
        """What trigger conditions and templates see as ``extracted``."""
        return {
            "requester_email": self.requester_email,
            "requester_username": self.requester_username,
            "usernames": list(self.usernames),
            "emails": list(self.emails),
            "hostnames": list(self.hostnames),
            "asset_tags": list(self.asset_tags),
            "devices": list(self.devices),
            "device": self.devices[0] if self.devices else None,
            "ips": list(self.ips),
            "software": list(self.software),
            "title": self.software[0] if self.software else None,
            "error_codes": list(self.error_codes),
            "urgency": self.urgency,
            "impact": self.impact,
        }


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _usernames(text: str, mine: set[str]) -> tuple[str, ...]:
    found = [m.group(1) for m in _USERNAME.finditer(text)]
    found += [m.group(1) for m in _POSSESSIVE.finditer(text)]
    return _unique(
        [
            name.rstrip(".")
            for name in found
            if name.lower() not in _NOT_NAMES and name.lower().rstrip(".") not in mine
        ]
    )


def _ips(text: str) -> tuple[str, ...]:
    found = []
    for match in [*_IPV4.finditer(text), *_IPV6.finditer(text)]:
        try:
            found.append(str(ipaddress.ip_address(match.group(0))))
        except ValueError:
            continue
    return _unique(found)


def _error_codes(text: str) -> tuple[str, ...]:
    return _unique([m.group(1) or m.group(0) for m in _ERROR_CODE.finditer(text)])


def _level(field_value: int | None, pattern: re.Pattern[str], text: str) -> int | None:
    if field_value is not None:
        return field_value
    return 1 if pattern.search(text) else None


def _assets(
    ticket: Ticket, text: str, assets: AssetSource | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The asset tags named (text, then the CI's) and the devices ``assets`` knows them
    as (the CI's name too); nothing is guessed for a tag it does not know."""
    tags = [m.group(0) for m in _ASSET_TAG.finditer(text)]
    carried = ticket.fields.get("cmdb_ci_asset_tag")
    tags += [carried] if carried else []
    if assets is None:
        return _unique(tags), ()
    names = [*tags, ticket.fields.get("cmdb_ci", "")]
    return _unique(tags), _unique([d for d in map(assets.device_for, filter(None, names)) if d])


def extract(
    ticket: Ticket, catalog: SoftwareCatalog, assets: AssetSource | None = None
) -> Extraction:
    """Everything the routing rules may use, from ``ticket``'s fields and text."""
    text = ticket.text[:_SCAN_LIMIT]
    requester_email = ticket.requester_email.lower() if ticket.requester_email else None
    mine = {value.lower() for value in (ticket.requester_username, requester_email) if value}
    emails = _unique([e.lower() for e in _EMAIL.findall(text) if e.lower() != requester_email])
    hostnames = _unique(
        [m.group(0).lower() for m in [*_DEVICE.finditer(text), *_FQDN.finditer(text)]]
    )
    hostnames = tuple(h for h in hostnames if not any(h in e for e in emails))
    tags, known = _assets(ticket, text, assets)
    return Extraction(
        requester_email=requester_email,
        requester_username=ticket.requester_username,
        usernames=_usernames(text, mine),
        emails=tuple(e for e in emails if e not in hostnames),
        hostnames=hostnames,
        ips=_ips(text),
        software=catalog.find(text),
        error_codes=_error_codes(text),
        urgency=_level(ticket.urgency, _URGENT, text),
        impact=_level(ticket.impact, _WIDE, text),
        asset_tags=tags,
        devices=_unique([*hostnames, *known]),
    )
