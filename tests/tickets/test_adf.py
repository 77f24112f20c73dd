"""Descriptions in Atlassian Document Format (Jira Cloud REST v3) read as plain text."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.tickets.adf import MAX_DEPTH, adf_text, text_adf


def _p(*inline: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(inline)}


def _t(text: Any) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _item(text: str) -> dict[str, Any]:
    return {"type": "listItem", "content": [_p(_t(text))]}


DOCUMENT = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [_t("VPN fails")]},
        _p(_t("Since "), {"type": "date", "attrs": {"timestamp": 1714521600000}},
           _t(", "), {"type": "mention", "attrs": {"id": "5b1", "text": "@Tom Becker"}},
           _t(" cannot connect "), {"type": "emoji", "attrs": {"shortName": ":cry:"}},
           {"type": "hardBreak"}, _t("from home.")),
        {"type": "bulletList", "content": [_item("laptop tom-laptop"), _item("Wi-Fi")]},
        {"type": "orderedList", "attrs": {"order": 3}, "content": [_item("reboot")]},
        {"type": "codeBlock", "attrs": {"language": "text"}, "content": [_t("error 809")]},
        {"type": "table", "content": [{"type": "tableRow", "content": [
            {"type": "tableHeader", "content": [_p(_t("host"))]},
            {"type": "tableCell", "content": [_p(_t("vpn"), {"type": "hardBreak"}, _t("1"))]},
        ]}]},
        _p({"type": "status", "attrs": {"text": "BLOCKED", "color": "red"}},
           {"type": "inlineCard", "attrs": {"url": "https://example.com/kb/7"}}),
    ],
}  # fmt: skip


def test_a_document_reads_as_one_line_per_block() -> None:
    assert adf_text(DOCUMENT) == (
        "VPN fails\n"
        "Since 1714521600000, @Tom Becker cannot connect :cry:\n"
        "from home.\n"
        "- laptop tom-laptop\n"
        "- Wi-Fi\n"
        "3. reboot\n"
        "error 809\n"
        "host | vpn 1\n"
        "BLOCKEDhttps://example.com/kb/7"
    )


@pytest.mark.parametrize(
    "odd",
    [
        {"type": "mention", "attrs": "not an object"},
        {"type": "mention", "attrs": {"text": True}},
        {"type": "mention", "attrs": {"text": ""}},
        {"type": "paragraph", "content": "not a list"},
        {"type": "orderedList", "attrs": {"order": "x"}, "content": []},
        _t(None),
        "a stray string",
        None,
    ],
    ids=[
        "attrs that are not an object",
        "an attribute that is a boolean",
        "an empty attribute",
        "content that is not a list",
        "a list start that is not a number",
        "text that is not a string",
        "a node that is a string",
        "nothing",
    ],
)
def test_odd_nodes_are_left_out_and_never_fail(odd: Any) -> None:
    assert adf_text({"type": "doc", "content": [_p(_t("kept")), odd]}) == "kept"


def test_nodes_nested_deeper_than_the_limit_are_left_out() -> None:
    deep: dict[str, Any] = _t("deep")
    for _ in range(MAX_DEPTH + 5):
        deep = {"type": "blockquote", "content": [deep]}
    assert adf_text({"type": "doc", "content": [_p(_t("shallow")), deep]}) == "shallow"


def test_plain_text_written_as_a_document_reads_back_line_by_line() -> None:
    text = "Installing 7-Zip.\n\nIt takes a minute."

    document = text_adf(text)

    assert (document["type"], document["version"]) == ("doc", 1)
    assert [p["content"] for p in document["content"]][1] == []  # the empty line
    assert adf_text(document) == "Installing 7-Zip.\nIt takes a minute."
