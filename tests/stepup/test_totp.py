"""TOTP codes, their form, time steps and provisioning URIs."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest

from gateway.stepup.errors import MalformedCodeError
from gateway.stepup.totp import (
    check_code_format,
    matching_step,
    new_seed,
    provisioning_uri,
    time_step,
)
from tests.stepup import START, code_at

RFC6238_SHA1_SEED = base64.b32encode(b"12345678901234567890").decode("ascii")
RFC6238_SHA1_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "expected"), RFC6238_SHA1_VECTORS)
def test_pyotp_reproduces_the_rfc_6238_sha1_vectors(unix_time: int, expected: str) -> None:
    assert pyotp.TOTP(RFC6238_SHA1_SEED, digits=8).at(unix_time) == expected


@pytest.mark.parametrize(("unix_time", "expected"), RFC6238_SHA1_VECTORS)
def test_matching_step_finds_the_rfc_6238_codes_by_their_last_six_digits(
    unix_time: int, expected: str
) -> None:
    moment = datetime.fromtimestamp(unix_time, UTC)
    assert matching_step(RFC6238_SHA1_SEED, expected[-6:], moment, 0) == unix_time // 30


def test_a_new_seed_is_160_random_bits_of_base32() -> None:
    seeds = {new_seed() for _ in range(20)}
    assert len(seeds) == 20
    for seed in seeds:
        assert len(seed) == 32
        assert len(base64.b32decode(seed)) == 20


def test_the_provisioning_uri_names_issuer_account_and_secret() -> None:
    seed = new_seed()
    uri = provisioning_uri(seed, user="alice@example.com", issuer="Acme IT")
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/Acme IT:alice@example.com"
    assert query["secret"] == [seed]
    assert query["issuer"] == ["Acme IT"]


@pytest.mark.parametrize(
    "code",
    [
        "12345",
        "1234567",
        " 123456",
        "123456\n",
        "12 456",
        "12345a",
        "",
        "\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits
        "\uff11\uff12\uff13\uff14\uff15\uff16",  # full-width digits
        "+12345",
        None,
        123456,
    ],
    ids=[
        "five digits",
        "seven digits",
        "leading space",
        "trailing newline",
        "inner space",
        "a letter",
        "empty",
        "arabic-indic digits",
        "full-width digits",
        "a sign",
        "none",
        "an integer",
    ],
)
def test_a_malformed_code_is_refused_without_being_echoed(code: object) -> None:
    with pytest.raises(MalformedCodeError) as caught:
        check_code_format(code)
    assert str(caught.value) == "step-up code must be exactly 6 ASCII digits"


def test_six_ascii_digits_are_well_formed() -> None:
    assert check_code_format("012345") == "012345"


def test_time_steps_are_thirty_seconds_since_the_epoch() -> None:
    assert time_step(datetime(1970, 1, 1, 0, 0, 59, tzinfo=UTC)) == 1
    assert time_step(START) == 1714555800 // 30


def test_a_naive_time_is_a_caller_bug() -> None:
    with pytest.raises(TypeError, match="timezone-aware"):
        time_step(datetime(2024, 5, 1))


@pytest.mark.parametrize("offset", [-1, 0, 1], ids=["one step early", "now", "one step late"])
def test_one_step_either_side_matches(offset: int) -> None:
    seed = new_seed()
    code = code_at(seed, START, offset)
    assert matching_step(seed, code, START, 1) == time_step(START) + offset


@pytest.mark.parametrize("offset", [-2, 2], ids=["two steps early", "two steps late"])
def test_two_steps_away_does_not_match(offset: int) -> None:
    seed = new_seed()
    assert matching_step(seed, code_at(seed, START, offset), START, 1) is None


def test_steps_before_the_epoch_are_never_tried() -> None:
    seed = new_seed()
    at_epoch = datetime(1970, 1, 1, 0, 0, 10, tzinfo=UTC)
    assert matching_step(seed, code_at(seed, at_epoch), at_epoch, 1) == 0
    assert matching_step(seed, code_at(seed, at_epoch, 1), at_epoch, 1) == 1
