"""Extraction from ticket fields and free text, and the software catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.tickets import SoftwareCatalog, Ticket, extract
from gateway.tickets.model import TicketId

REPO = Path(__file__).resolve().parents[2]
CATALOG = SoftwareCatalog.from_directory_file(REPO / "gateway" / "defaults" / "directory.yaml")


def _ticket(subject: str, description: str = "", **fields: object) -> Ticket:
    return Ticket("embedded", TicketId("T-1"), "T-1", subject, description, **fields)  # type: ignore[arg-type]


def test_everything_a_rule_may_use_is_found() -> None:
    ticket = _ticket(
        "Please install 7-Zip and Microsoft Visio on tom-laptop",
        "Also reset user: bob and sam's account. Error 0x80070005, error code 1603, "
        "AADSTS50126. From 10.0.0.5 and fe80::1 on ws01.corp.example.com; bob@example.com. "
        "URGENT, the whole team is blocked. Bad IP 999.1.1.1 here.",
        requester_email="Tom@Example.com",
        requester_username="tom",
    )
    found = extract(ticket, CATALOG)

    assert found.requester_email == "tom@example.com"
    assert found.usernames == ("bob", "sam")
    assert found.emails == ("bob@example.com",)
    assert found.hostnames == ("tom-laptop", "ws01.corp.example.com")
    assert found.ips == ("10.0.0.5", "fe80::1")
    assert found.software == ("7zip", "visio")
    assert found.error_codes == ("0x80070005", "1603", "AADSTS50126")
    assert (found.urgency, found.impact) == (1, 1)
    scope = found.as_scope()
    assert scope["device"] == "tom-laptop"
    assert scope["title"] == "7zip"


def test_the_requester_and_common_words_are_not_candidate_accounts() -> None:
    ticket = _ticket("My account is locked", "user: tom, my password", requester_username="tom")
    found = extract(ticket, CATALOG)

    assert found.usernames == ()
    assert found.as_scope()["device"] is None
    assert found.as_scope()["title"] is None


def test_fields_come_before_words() -> None:
    found = extract(_ticket("urgent", "everyone", urgency=3, impact=2), CATALOG)

    assert (found.urgency, found.impact) == (3, 2)
    assert extract(_ticket("hello"), CATALOG).urgency is None


@pytest.mark.parametrize(
    ("text", "titles"),
    [("I need 7 zip", ["7zip"]), ("a Torrent Client please", ["torrent-client"]),
     ("nothing here", [])],
)  # fmt: skip
def test_catalog_titles_match_however_they_are_spelled(text: str, titles: list[str]) -> None:
    assert list(CATALOG.find(text)) == titles


def test_an_empty_catalog_finds_nothing() -> None:
    assert SoftwareCatalog([]).find("7zip") == ()
    assert CATALOG.titles == ["7zip", "torrent-client", "visio"]
