"""The canonical JSON encoding (gateway.audit.canonical): one value, one byte string."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.audit.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalError,
    canonical_bytes,
    check_canonical,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"])), children, max_size=4)
    ),
    max_leaves=20,
)


def test_objects_are_sorted_by_code_point_without_whitespace() -> None:
    value = {"b": [1, {"z": None, "a": True}], "a": "x", "\u00e9": 0, "B": False}
    assert canonical_bytes(value) == b'{"B":false,"a":"x","b":[1,{"a":true,"z":null}],"\xc3\xa9":0}'


def test_strings_are_utf8_and_escape_only_what_json_requires() -> None:
    encoded = canonical_bytes({"s": 'caf\u00e9 \u2603 "q" \\ \n \t \x01 / \U0001f600'})
    assert encoded == (
        '{"s":"caf\u00e9 \u2603 \\"q\\" \\\\ \\n \\t \\u0001 / \U0001f600"}'.encode()
    )


def test_the_largest_safe_integers_are_encoded() -> None:
    assert canonical_bytes([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == (
        b"[9007199254740991,-9007199254740991]"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param({"n": 1.5}, "record.n: float is not allowed", id="a float"),
        pytest.param({"n": float("nan")}, "record.n: float is not allowed", id="NaN"),
        pytest.param([MAX_SAFE_INTEGER + 1], "record[0]: integer out of range", id="2**53"),
        pytest.param(
            {"a": [0, {"b": -(2**63)}]}, "record.a[1].b: integer out of range", id="a nested int64"
        ),
        pytest.param({1: "x"}, "record: object keys must be strings", id="an integer key"),
        pytest.param({"t": (1, 2)}, "record.t: tuple is not allowed", id="a tuple"),
        pytest.param({"b": b"raw"}, "record.b: bytes is not allowed", id="bytes"),
    ],
)
def test_values_without_a_canonical_form_are_refused_naming_where_they_are(
    value: Any, message: str
) -> None:
    with pytest.raises(CanonicalError, match=f"^{re.escape(message)}$"):
        canonical_bytes(value)
    with pytest.raises(CanonicalError):
        check_canonical(value)


def test_check_canonical_names_the_value_it_is_given() -> None:
    with pytest.raises(CanonicalError, match=r"^payload\.x: float is not allowed$"):
        check_canonical({"x": 0.5}, "payload")
    check_canonical({"x": [None, True, "s", 3]}, "payload")


def test_lone_surrogates_are_refused_even_when_the_value_is_already_checked() -> None:
    with pytest.raises(CanonicalError, match="no lone surrogates"):
        canonical_bytes({"s": "\ud800"})
    with pytest.raises(CanonicalError, match="no lone surrogates"):
        canonical_bytes({"s": "\udfff"}, checked=True)


@given(json_values)
def test_encoding_is_valid_json_that_reencodes_to_the_same_bytes(value: Any) -> None:
    encoded = canonical_bytes(value)
    decoded = json.loads(encoded)
    assert decoded == value
    assert canonical_bytes(decoded) == encoded
    assert b"\n" not in encoded


def test_values_nested_deeper_than_the_limit_have_no_canonical_form() -> None:
    from gateway.audit.canonical import MAX_DEPTH

    deep: object = "leaf"
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]

    with pytest.raises(CanonicalError, match="nested deeper than 100 levels"):
        canonical_bytes({"payload": deep})
