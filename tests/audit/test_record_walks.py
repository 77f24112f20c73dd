"""The walks over every record (secret redaction, the canonical check) give exactly what
their plain definitions give, on any value: same result, same dropped paths, same error."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretBytes, SecretStr

from gateway.audit.canonical import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    CanonicalError,
    canonical_bytes,
    check_canonical,
)
from gateway.audit.redaction import _SECRET_VALUE, REDACTED, _is_secret_key, redact


def reference_redact(value: Any, path: str, dropped: list[str]) -> Any:
    """Redaction as defined: every value visited, every path written out."""
    if isinstance(value, (SecretStr, SecretBytes)):
        dropped.append(path)
        return REDACTED
    if isinstance(value, dict):
        clean = {}
        for key, item in value.items():
            where = f"{path}.{key}"
            if isinstance(key, str) and _is_secret_key(key):
                dropped.append(where)
                clean[key] = REDACTED
            else:
                clean[key] = reference_redact(item, where, dropped)
        return clean
    if isinstance(value, (list, tuple)):
        return [reference_redact(item, f"{path}[{i}]", dropped) for i, item in enumerate(value)]
    if isinstance(value, str) and _SECRET_VALUE.search(value):
        dropped.append(path)
        return REDACTED
    return value


def reference_problem(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` has no canonical form, as defined."""
    if value is None or isinstance(value, (bool, str)):
        return False
    if depth > MAX_DEPTH:
        return True
    if isinstance(value, int):
        return abs(value) > MAX_SAFE_INTEGER
    if isinstance(value, list):
        return any(reference_problem(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return any(not isinstance(key, str) for key in value) or any(
            reference_problem(item, depth + 1) for item in value.values()
        )
    return True


_KEYS = st.sampled_from(["name", "password", "api_key", "code", "note", "x", "Seed"]) | st.text(
    max_size=6
)
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["Bearer abc", " otpauth://totp/x", "fine"])
    | st.builds(SecretStr, st.text(max_size=4))
    | st.builds(SecretBytes, st.binary(max_size=4))
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_KEYS | st.integers(0, 3), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_redaction_drops_the_same_values_at_the_same_paths_as_its_definition(value: Any) -> None:
    expected_dropped: list[str] = []
    expected = reference_redact(value, "payload", expected_dropped)

    clean, dropped = redact(value)

    assert clean == expected
    assert dropped == expected_dropped


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_the_canonical_check_refuses_exactly_what_has_no_canonical_form(value: Any) -> None:
    if reference_problem(value):
        with pytest.raises(CanonicalError):
            check_canonical(value)
        with pytest.raises(CanonicalError):
            canonical_bytes(value)
    else:
        check_canonical(value)
        canonical_bytes(value)


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


@pytest.mark.parametrize("leaf", [1, 2**53, 1.5, ("t",), "text"], ids=repr)
@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2])
def test_the_canonical_check_at_the_depth_limit_agrees_with_its_definition(
    depth: int, leaf: Any
) -> None:
    value = _nested(depth, leaf)
    if reference_problem(value):
        with pytest.raises(CanonicalError):
            check_canonical(value)
    else:
        check_canonical(value)


def test_a_problem_found_by_the_quick_check_is_named_with_its_path() -> None:
    with pytest.raises(CanonicalError, match=r"^payload\.items\[1\]\.size: float is not allowed$"):
        check_canonical({"items": [{"size": 1}, {"size": 1.5}]}, "payload")
