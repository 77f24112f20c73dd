"""Digests that bind a step-up to one exact request."""

from __future__ import annotations

from typing import Any, cast

import pytest

from gateway.errors import RequestError
from gateway.stepup import request_digest
from gateway.stepup.binding import check_digest

BASE: dict[str, Any] = {
    "action": "account.reset_password",
    "target": "account:bob",
    "parameters": {"notify": True, "ticket": "INC-1"},
}


def test_the_same_request_gives_the_same_digest() -> None:
    first = request_digest(**BASE)
    assert first == request_digest(
        BASE["action"], BASE["target"], {"ticket": "INC-1", "notify": True}
    )
    assert check_digest(first) == first


@pytest.mark.parametrize(
    "change",
    [
        {"action": "account.unlock"},
        {"target": "account:carol"},
        {"parameters": {"notify": False, "ticket": "INC-1"}},
        {"parameters": {"notify": True, "ticket": "INC-1", "extra": 1}},
    ],
    ids=["another action", "another target", "another parameter value", "an extra parameter"],
)
def test_any_change_to_the_request_changes_the_digest(change: dict[str, Any]) -> None:
    assert request_digest(**{**BASE, **change}) != request_digest(**BASE)


def test_parameters_without_a_canonical_form_cannot_be_bound() -> None:
    with pytest.raises(RequestError, match=r"record.parameters.size: float is not allowed"):
        request_digest("software.install", "software:visio", {"size": 1.5})


@pytest.mark.parametrize(
    "digest",
    ["sha256:" + "A" * 64, "sha256:" + "a" * 63, "a" * 64, "", cast(str, 42)],
    ids=["upper-case hex", "too short", "no prefix", "empty", "not a string"],
)
def test_a_malformed_binding_is_refused(digest: str) -> None:
    with pytest.raises(RequestError, match="bound_to must be 'sha256:' followed by 64"):
        check_digest(digest)


def test_no_binding_is_fine() -> None:
    assert check_digest(None) is None
