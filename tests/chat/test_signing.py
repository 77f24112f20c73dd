"""Slack's request signature: Slack's own worked example, the window, replays."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from gateway.chat.errors import ChatRefusedError
from gateway.chat.signing import ReplayGuard, sign, verify_slack_request

# "Verifying requests from Slack" (api.slack.com/authentication/verifying-requests-from-slack)
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    b"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770"
    b"0885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2"
    b"c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
HEADERS = {"X-Slack-Request-Timestamp": DOC_TIMESTAMP, "X-Slack-Signature": DOC_SIGNATURE}
AT = int(DOC_TIMESTAMP)


def _verify(headers: dict[str, str], body: bytes = DOC_BODY, now: float = AT + 60) -> str:
    return verify_slack_request(SecretStr(DOC_SECRET), headers, body, now, 300)


def test_slacks_worked_example_signs_and_verifies() -> None:
    assert sign(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY) == DOC_SIGNATURE
    assert _verify(HEADERS) == DOC_SIGNATURE
    assert _verify({k.lower(): v for k, v in HEADERS.items()}) == DOC_SIGNATURE


@pytest.mark.parametrize(
    ("headers", "body", "now", "reason"),
    [
        ({}, DOC_BODY, AT, "unsigned"),
        ({**HEADERS, "X-Slack-Request-Timestamp": "soon"}, DOC_BODY, AT, "bad_signature"),
        ({**HEADERS, "X-Slack-Request-Timestamp": "1" * 13}, DOC_BODY, AT, "bad_signature"),
        (HEADERS, DOC_BODY, AT + 301, "expired"),
        (HEADERS, DOC_BODY, AT - 301, "expired"),
        (HEADERS, DOC_BODY + b"&text=approve", AT, "bad_signature"),
        ({**HEADERS, "X-Slack-Signature": "v0=ünïcode"}, DOC_BODY, AT, "bad_signature"),
    ],
    ids=[
        "a request without the headers is unsigned",
        "a timestamp that is not a number is refused",
        "a timestamp too long to be one is refused",
        "a request over five minutes old has expired",
        "a request five minutes from the future has expired",
        "a changed body does not match",
        "a signature that is not hex does not match",
    ],
)
def test_bad_requests_are_refused(
    headers: dict[str, str], body: bytes, now: float, reason: str
) -> None:
    with pytest.raises(ChatRefusedError) as caught:
        _verify(headers, body, now)
    assert caught.value.reason == reason
    assert DOC_SECRET not in str(caught.value)


def test_a_signature_is_taken_once_within_the_window() -> None:
    clock = [0.0]
    guard = ReplayGuard(600, lambda: clock[0])
    guard.admit("v0=aa")
    with pytest.raises(ChatRefusedError, match="already taken"):
        guard.admit("v0=aa")
    clock[0] = 601
    guard.admit("v0=aa")  # forgotten after the window (and refused as expired anyway)


def test_the_memory_of_signatures_stays_bounded() -> None:
    clock = [0.0]
    guard = ReplayGuard(10, lambda: clock[0])
    for n in range(1100):
        guard.admit(f"v0={n}")
    clock[0] = 11
    guard.admit("v0=new")
    assert len(guard._seen) == 1
