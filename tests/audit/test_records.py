"""Sealing audit records and reading stored lines back strictly (gateway.audit.records)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.audit.canonical import MAX_SAFE_INTEGER, CanonicalError, canonical_bytes
from gateway.audit.keys import Signer, verify_signature
from gateway.audit.records import (
    FORMAT_VERSION,
    GENESIS_PREV,
    SIGNING_CONTEXT,
    AuditEvent,
    AuditRecord,
    parse_record,
    seal_record,
)
from gateway.errors import VerificationError
from tests.audit.conftest import body_of, reencode

SIGNER = Signer.generate()
TIME = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=16,
)
optional_text = st.none() | text


def seal(event: AuditEvent, seq: int = 0, prev: str = GENESIS_PREV) -> AuditRecord:
    return seal_record(event, seq=seq, prev=prev, time=TIME, signer=SIGNER)


def sample_line() -> bytes:
    event = AuditEvent(type="decision.made", actor="elena", payload={"effect": "allow"})
    return seal(event, seq=7, prev="ab" * 32).line


def assert_malformed(line: bytes, detail: str) -> None:
    with pytest.raises(VerificationError) as caught:
        parse_record(line, 41)
    assert caught.value.kind == "malformed record"
    assert caught.value.sequence == 41
    assert re.search(detail, str(caught.value)), str(caught.value)
    assert str(caught.value).startswith("record 41: malformed record: ")


def test_a_sealed_record_is_one_canonical_line_with_every_field() -> None:
    record = seal(
        AuditEvent(
            type="action.executed",
            actor="grace",
            action="mailbox.restore",
            resource="mailbox:grace",
            decision_id="d-1",
            policy_digest="sha256:00",
            payload={"b": [1, 2], "a": "caf\u00e9"},
        ),
        seq=3,
        prev="0f" * 32,
    )
    body = body_of(record.line)
    assert list(body) == sorted(body)
    assert body == {
        "v": FORMAT_VERSION,
        "seq": 3,
        "time": "2024-02-29T23:59:58.123456Z",
        "prev": "0f" * 32,
        "type": "action.executed",
        "actor": "grace",
        "action": "mailbox.restore",
        "resource": "mailbox:grace",
        "decision_id": "d-1",
        "policy_digest": "sha256:00",
        "payload": {"a": "caf\u00e9", "b": [1, 2]},
        "redacted": [],
        "key_id": SIGNER.key_id,
        "sig": base64.b64encode(record.signature).decode(),
    }
    assert record.line == canonical_bytes(body)
    assert b"\n" not in record.line
    assert record.hash == hashlib.sha256(record.line).hexdigest()


def test_the_signature_covers_the_context_and_the_record_without_sig() -> None:
    record = seal(AuditEvent(type="x.y", payload={"sig": "not the signature"}))
    unsigned = {key: value for key, value in body_of(record.line).items() if key != "sig"}
    assert record.signing_input() == SIGNING_CONTEXT + canonical_bytes(unsigned)
    assert verify_signature(SIGNER.public_key, record.signature, record.signing_input())


def test_a_parsed_line_is_the_record_that_was_sealed() -> None:
    record = seal(AuditEvent(type="a", actor="omar", payload={"password": "pw"}), seq=2)
    assert parse_record(record.line, 2) == record
    assert record.redacted == ("payload.password",)


def test_a_payload_without_a_canonical_form_cannot_be_sealed() -> None:
    with pytest.raises(CanonicalError, match=r"^record\.payload\.ratio: float is not allowed$"):
        seal(AuditEvent(type="a", payload={"ratio": 0.5}))
    with pytest.raises(CanonicalError, match=r"^record\.payload\.n: integer out of range$"):
        seal(AuditEvent(type="a", payload={"n": 2**53}))


@pytest.mark.parametrize("bad_type", ["", "Decision", "a..b", "a.", "1a", "a-b", "a\n", "a" * 65])
def test_an_event_type_must_be_a_dotted_lower_case_name(bad_type: str) -> None:
    with pytest.raises(ValidationError):
        AuditEvent(type=bad_type)


def test_an_event_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        AuditEvent(type="a", user="elena")  # type: ignore[call-arg]


@settings(max_examples=60, deadline=None)
@given(
    payload=st.dictionaries(text, json_values, max_size=5),
    actor=optional_text,
    resource=optional_text,
    seq=st.integers(0, MAX_SAFE_INTEGER),
)
def test_sealed_records_round_trip_and_their_signature_verifies(
    payload: dict[str, Any], actor: str | None, resource: str | None, seq: int
) -> None:
    record = seal(
        AuditEvent(type="prop.test", actor=actor, resource=resource, payload=payload), seq
    )
    parsed = parse_record(record.line, seq)
    assert parsed == record
    assert verify_signature(SIGNER.public_key, parsed.signature, parsed.signing_input())
    assert canonical_bytes(json.loads(record.line)) == record.line


# -- what parse_record refuses, every problem reported as a malformed record -----------------


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        pytest.param(b"", "not JSON", id="an empty line"),
        pytest.param(b"{", "not JSON", id="cut JSON"),
        pytest.param(b"\xff\xfe{}", "not JSON", id="not UTF-8"),
        pytest.param(
            b"[" * 100_000 + b"]" * 100_000,
            "nested deeper than 100 levels",
            id="nesting too deep to parse",
        ),
        pytest.param(b"[]", "not a JSON object", id="an array"),
        pytest.param(b'"text"', "not a JSON object", id="a string"),
        pytest.param(b"{}", r"fields differ: missing \['action', ", id="an empty object"),
    ],
)
def test_lines_that_are_not_records_are_malformed(line: bytes, detail: str) -> None:
    assert_malformed(line, detail)


def test_a_record_with_an_extra_or_a_missing_field_is_malformed() -> None:
    line = sample_line()
    assert_malformed(reencode(line, extra=1), r"missing \[\], unexpected \['extra'\]")
    body = body_of(line)
    del body["payload"]
    assert_malformed(canonical_bytes(body), r"missing \['payload'\], unexpected \[\]")


NON_CANONICAL = [
    ("a space after a colon", lambda line: line.replace(b'"seq":7', b'"seq": 7')),
    ("a trailing newline", lambda line: line + b"\n"),
    ("leading whitespace", lambda line: b" " + line),
    (
        "keys out of order",
        lambda line: line.replace(
            b'{"action":null,"actor":"elena",', b'{"actor":"elena","action":null,'
        ),
    ),
    ("an escaped letter", lambda line: line.replace(b'"elena"', b'"\\u0065lena"')),
    ("an escaped slash", lambda line: line.replace(b'"elena"', b'"elena\\/"')),
    ("a needlessly escaped non-ASCII letter", lambda line: line.replace(b'"elena"', b'"\\u00e9"')),
    ("a duplicate key", lambda line: line.replace(b'"seq":7,', b'"seq":7,"seq":7,')),
    ("an integer written with an exponent", lambda line: line.replace(b'"seq":7', b'"seq":7e0')),
    ("a float", lambda line: line.replace(b'"seq":7', b'"seq":7.0')),
    ("minus zero", lambda line: line.replace(b'"payload":{', b'"payload":{"z":-0,')),
    ("an integer above 2**53-1", lambda line: line.replace(b'"seq":7', b'"seq":9007199254740992')),
    ("a huge integer", lambda line: line.replace(b'"seq":7', b'"seq":' + b"9" * 400)),
    ("NaN", lambda line: line.replace(b'"payload":{', b'"payload":{"z":NaN,')),
    ("Infinity", lambda line: line.replace(b'"payload":{', b'"payload":{"z":-Infinity,')),
    ("a lone surrogate escape", lambda line: line.replace(b'"elena"', b'"\\ud800"')),
    ("a byte order mark", lambda line: b"\xef\xbb\xbf" + line),
]


@pytest.mark.parametrize(
    "change", [pytest.param(change, id=name) for name, change in NON_CANONICAL]
)
def test_non_canonical_spellings_of_a_valid_record_are_malformed(change: Any) -> None:
    line = sample_line()
    changed = change(line)
    assert changed != line
    assert parse_record(line, 41).seq == 7
    with pytest.raises(VerificationError) as caught:
        parse_record(changed, 41)
    assert caught.value.kind == "malformed record"
    assert caught.value.sequence == 41


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        pytest.param({"v": 2}, "v must be 1", id="version 2"),
        pytest.param({"v": True}, "v must be 1", id="version true"),
        pytest.param({"seq": -1}, "seq must be a whole number", id="a negative seq"),
        pytest.param({"seq": "7"}, "seq must be a whole number", id="a string seq"),
        pytest.param({"seq": False}, "seq must be a whole number", id="a boolean seq"),
        pytest.param({"time": "2024-02-29T23:59:58Z"}, "bad time", id="a time without micros"),
        pytest.param({"time": 0}, "bad time", id="a numeric time"),
        pytest.param(
            {"time": "\u0662\u0660\u0662\u0664-02-29T23:59:58.123456Z"},
            "bad time",
            id="a time with arabic indic digits",
        ),
        pytest.param(
            {"time": "2024-02-29T23:59:58.12345\uff16Z"},
            "bad time",
            id="a time with a fullwidth digit",
        ),
        pytest.param(
            {"time": "2024-02-29T23:59:58.123456Z\n"}, "bad time", id="a time with a newline"
        ),
        pytest.param({"prev": "AB" * 32}, "bad prev hash", id="an upper-case prev"),
        pytest.param({"prev": "ab" * 31}, "bad prev hash", id="a short prev"),
        pytest.param({"type": "Decision"}, "bad type", id="a capitalised type"),
        pytest.param({"key_id": "0" * 15}, "bad key_id", id="a short key id"),
        pytest.param({"key_id": None}, "bad key_id", id="a null key id"),
        pytest.param({"sig": 5}, "sig must be a string", id="a numeric sig"),
        pytest.param({"payload": []}, "payload must be an object", id="a list payload"),
        pytest.param({"redacted": "x"}, "redacted must be a list of strings", id="redacted text"),
        pytest.param({"redacted": ["a", 1]}, "redacted must be a list of strings", id="redacted 1"),
        pytest.param({"actor": 1}, "bad actor", id="a numeric actor"),
        pytest.param({"action": ["a"]}, "bad action", id="a list action"),
        pytest.param({"resource": {}}, "bad resource", id="an object resource"),
        pytest.param({"decision_id": True}, "bad decision_id", id="a boolean decision id"),
        pytest.param({"policy_digest": 0}, "bad policy_digest", id="a numeric policy digest"),
        pytest.param({"sig": "not base64!"}, "base64", id="sig not base64"),
        pytest.param({"sig": "AAAA"}, "signature must be 64 bytes", id="a short sig"),
    ],
)
def test_records_with_a_badly_typed_field_are_malformed(
    changes: dict[str, Any], detail: str
) -> None:
    assert_malformed(reencode(sample_line(), **changes), detail)


def test_a_record_with_every_optional_field_null_parses() -> None:
    record = seal(AuditEvent(type="a"))
    parsed = parse_record(record.line, 0)
    assert (parsed.actor, parsed.action, parsed.resource) == (None, None, None)
    assert (parsed.decision_id, parsed.policy_digest, parsed.payload) == (None, None, {})


def test_a_clock_without_a_time_zone_is_refused() -> None:
    with pytest.raises(TypeError, match="timezone-aware"):
        seal_record(
            AuditEvent(type="x"),
            seq=0,
            prev=GENESIS_PREV,
            time=datetime(2024, 1, 1),
            signer=Signer.generate(),
        )


# -- nesting depth: the record is depth 0, its payload depth 1 -------------------------------


def nested(levels: int) -> object:
    """``levels`` arrays, one inside the other."""
    value: object = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_a_record_nested_exactly_100_levels_deep_is_written_and_read_back() -> None:
    record = seal(AuditEvent(type="deep", payload={"a": nested(99)}))  # payload + 99 = 100

    assert parse_record(record.line, 0) == record


@pytest.mark.parametrize(
    "levels",
    [
        pytest.param(100, id="one level too deep"),
        pytest.param(975, id="deep enough to exhaust the encoder's stack"),
        pytest.param(5_000, id="deep enough to exhaust the parser's stack"),
    ],
)
def test_a_record_nested_deeper_than_100_levels_is_malformed(levels: int) -> None:
    line = seal(AuditEvent(type="deep", payload={})).line
    deep = line.replace(b'"payload":{}', b'"payload":{"a":' + b"[" * levels + b"]" * levels + b"}")

    assert_malformed(deep, "^record 41: malformed record: nested deeper than 100 levels$")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    record = seal(AuditEvent(type="brackets", actor="[" * 300, payload={"a": "{" * 300}))

    assert parse_record(record.line, 0) == record
