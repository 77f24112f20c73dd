"""Recovery codes: their form, normalisation and salted hashes."""

from __future__ import annotations

import re

import pytest

from gateway.stepup.errors import MalformedCodeError
from gateway.stepup.recovery import hash_code, matches, new_code, normalise_code

DISPLAY = re.compile(r"[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}")


def test_new_codes_are_four_groups_of_four_and_all_different() -> None:
    codes = {new_code() for _ in range(50)}
    assert len(codes) == 50
    assert all(DISPLAY.fullmatch(code) for code in codes)


@pytest.mark.parametrize(
    "typed",
    ["7k3m-q9x2-h4td-0pwe", "7K3M-Q9X2-H4TD-0PWE", "7k3mq9x2h4td0pwe", "7k3m-q9x2h4td-0pwe"],
    ids=["as shown", "upper case", "without hyphens", "some hyphens"],
)
def test_a_code_is_accepted_in_either_case_with_or_without_hyphens(typed: str) -> None:
    assert normalise_code(typed) == "7k3mq9x2h4td0pwe"


@pytest.mark.parametrize(
    "typed",
    [
        "7k3m-q9x2-h4td-0pw",
        "7k3m-q9x2-h4td-0pwee",
        " 7k3m-q9x2-h4td-0pwe",
        "7k3m q9x2 h4td 0pwe",
        "7k3m-q9x2-h4td-0pwi",
        "7k3m--q9x2-h4td-0pwe",
        "7k3m-q9x2-h4td-0pw٣",
        None,
    ],
    ids=[
        "too short",
        "too long",
        "leading space",
        "spaces for hyphens",
        "a letter outside the alphabet",
        "too many hyphens",
        "a non-ascii digit",
        "none",
    ],
)
def test_a_malformed_recovery_code_is_refused_without_being_echoed(typed: object) -> None:
    with pytest.raises(MalformedCodeError) as caught:
        normalise_code(typed)
    message = str(caught.value)
    assert message == "recovery code must be 16 letters and digits, optionally grouped by '-'"


def test_a_hash_matches_its_code_only() -> None:
    code = new_code()
    stored = hash_code(code, 2**4)
    assert stored.n == 2**4
    assert len(stored.salt) == 16
    assert len(stored.digest) == 32
    assert matches(normalise_code(code), stored)
    assert not matches(normalise_code(new_code()), stored)


def test_the_same_code_hashes_differently_each_time() -> None:
    code = new_code()
    assert hash_code(code, 2**4).digest != hash_code(code, 2**4).digest
