"""Secrets never enter the audit log (gateway.audit.redaction and the log that uses it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretBytes, SecretStr

from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditEvent
from gateway.audit.redaction import REDACTED, redact
from tests.audit.conftest import body_of, lines_of, stepping_clock, verify_path

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIBYG2V0tE1a9c1b2VvQ0ZyFWJxIuN0pU5y5P3oE1z5Uq\n"
    "-----END PRIVATE KEY-----\n"
)
OTPAUTH = "otpauth://totp/Gateway:elena?secret=JBSWY3DPEHPK3PXP&issuer=Gateway"

# (name, the value as given, the path expected in ``redacted``)
SECRET_KEYS: list[tuple[str, dict[str, Any], str]] = [
    ("password", {"password": "hunter2-pw"}, "payload.password"),
    ("new_password", {"new_password": "Sw0rdfish!"}, "payload.new_password"),
    ("passphrase", {"Passphrase": "correct horse"}, "payload.Passphrase"),
    ("api token", {"api_token": "tok-live-9f8e7d"}, "payload.api_token"),
    ("access token", {"accessToken": "at-5551212"}, "payload.accessToken"),
    ("client secret", {"client-secret": "cs-0xdeadbeef"}, "payload.client-secret"),
    ("api key", {"x-api-key": "ak-31337"}, "payload.x-api-key"),
    ("totp seed", {"totp_seed": "JBSWY3DPEHPK3PXQ"}, "payload.totp_seed"),
    ("seed", {"seed": "GEZDGNBVGY3TQOJQ"}, "payload.seed"),
    ("one-time code", {"code": "492039"}, "payload.code"),
    ("otp", {"OTP": "771234"}, "payload.OTP"),
    ("otp code", {"otp_code": "118822"}, "payload.otp_code"),
    ("pin", {"pin": "4711"}, "payload.pin"),
    ("recovery codes", {"recovery_codes": ["rc-1111", "rc-2222"]}, "payload.recovery_codes"),
    ("private key", {"private_key": "pk-material-42"}, "payload.private_key"),
    ("authorization", {"Authorization": "Negotiate YIIabc"}, "payload.Authorization"),
    ("cookie", {"cookie": "sid=s3ss10n"}, "payload.cookie"),
    ("credentials", {"credentials": {"user": "svc", "pw": "x"}}, "payload.credentials"),
]

SECRET_VALUES = [
    ("bearer token", "Bearer abc.def-ghi-0001"),
    ("lower-case bearer token", "  bearer 00Dabcdefghij"),
    ("SSWS token", "SSWS 00QCjAl4MlV-WPXM-okta-token"),
    ("basic credentials", "Basic ZWxlbmE6aHVudGVyMg=="),
    ("JWT", JWT),
    ("otpauth URI", OTPAUTH),
    ("PEM private key", PEM),
    ("PEM key inside a longer text", "key follows: " + PEM.replace("PRIVATE", "EC PRIVATE")),
]


@pytest.mark.parametrize(
    ("payload", "path"),
    [pytest.param(payload, path, id=f"a {name} key") for name, payload, path in SECRET_KEYS],
)
def test_values_under_secret_keys_are_dropped(payload: dict[str, Any], path: str) -> None:
    clean, dropped = redact(payload)
    assert clean == dict.fromkeys(payload, REDACTED)
    assert dropped == [path]


@pytest.mark.parametrize(
    "secret", [pytest.param(secret, id=f"a {name} value") for name, secret in SECRET_VALUES]
)
def test_values_that_look_like_secrets_are_dropped_whatever_their_key(secret: str) -> None:
    clean, dropped = redact({"note": secret, "list": ["ok", secret]})
    assert clean == {"note": REDACTED, "list": ["ok", REDACTED]}
    assert dropped == ["payload.note", "payload.list[1]"]


def test_pydantic_secrets_are_dropped_and_their_paths_listed() -> None:
    value = {
        "a": SecretStr("s3cr3t-str"),
        "b": [1, SecretBytes(b"s3cr3t-bytes")],
        "c": ({"d": SecretStr("x")},),
    }
    clean, dropped = redact(value, "event")
    assert clean == {"a": REDACTED, "b": [1, REDACTED], "c": [{"d": REDACTED}]}
    assert dropped == ["event.a", "event.b[1]", "event.c[0].d"]


def test_ordinary_values_are_kept_as_they_are() -> None:
    value = {
        "user": "elena",
        "decision": "allow",
        "reasons": ["role:helpdesk", {"count": 3, "flag": None}],
        "tokenizer_version": 2,
        1: "non-string keys are left to the canonical check",
        "description": "a basic plan",
    }
    clean, dropped = redact(value)
    assert dropped == ["payload.tokenizer_version"]  # a key naming a token is dropped, too
    assert clean == {**value, "tokenizer_version": REDACTED}


def test_tuples_become_lists() -> None:
    assert redact((1, ("a",))) == ([1, ["a"]], [])


def _all_secrets() -> tuple[dict[str, Any], list[str]]:
    payload: dict[str, Any] = {
        "ticket": "INC-1",
        "nested": {"list": [{"password": "pw-nested-in-list"}, SecretStr("secretstr-value")]},
    }
    for index, (_, value, _) in enumerate(SECRET_KEYS):
        payload[f"k{index:02}"] = value
    for index, (_, secret) in enumerate(SECRET_VALUES):
        payload[f"v{index:02}"] = [{"deep": secret}]
    strings = ["pw-nested-in-list", "secretstr-value", JWT, OTPAUTH, "hunter2-pw"]
    for _, value, _ in SECRET_KEYS:
        for item in value.values():
            strings.extend(item if isinstance(item, list) else [item])
    strings.extend(secret for _, secret in SECRET_VALUES)
    return payload, [text for text in strings if isinstance(text, str)]


def test_no_secret_reaches_the_log_file_from_the_payload_or_the_record_fields(
    tmp_path: Path,
) -> None:
    payload, secrets = _all_secrets()
    signer = Signer.generate()
    path = tmp_path / "audit.log"
    with AuditLog(path, signer, clock=stepping_clock()) as log:
        record = log.append(
            AuditEvent(
                type="identity.mfa_reset",
                actor="Bearer actor-token-0042",
                action="mfa.reset",
                resource=OTPAUTH,
                decision_id=JWT,
                payload=payload,
            )
        )
    stored = path.read_bytes()
    for secret in [*secrets, "actor-token-0042", "JBSWY3DPEHPK3PXP"]:
        assert secret.encode() not in stored, secret
        assert secret.encode("unicode_escape") not in stored, secret

    body = body_of(lines_of(path)[0])
    assert body["actor"] == body["resource"] == body["decision_id"] == REDACTED
    assert body["action"] == "mfa.reset"
    assert body["payload"]["ticket"] == "INC-1"
    assert body["payload"]["nested"] == {"list": [{"password": REDACTED}, REDACTED]}
    assert body["payload"]["v03"] == [{"deep": REDACTED}]
    assert body["redacted"][:3] == ["actor", "resource", "decision_id"]
    assert {
        "payload.nested.list[0].password",
        "payload.nested.list[1]",
        "payload.k00.password",
        "payload.k13.recovery_codes",
        "payload.v06[0].deep",
    } <= set(body["redacted"])
    assert len(body["redacted"]) == 3 + 2 + len(SECRET_KEYS) + len(SECRET_VALUES)
    assert list(record.redacted) == body["redacted"]
    assert verify_path(path, signer).records == 1


@pytest.mark.parametrize(
    "key",
    ["mfa_code", "pin_code", "verification_code", "authCode", "security-code"],
    ids=lambda key: f"a {key} is a secret",
)
def test_one_time_codes_under_any_name_are_secrets(key: str) -> None:
    clean, dropped = redact({key: "492113"})

    assert clean == {key: "[redacted]"}
    assert dropped == [f"payload.{key}"]


@pytest.mark.parametrize(
    "value",
    ["  eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "\totpauth://totp/x?secret=ABC"],
    ids=["a token after spaces", "a provisioning URI after a tab"],
)
def test_secret_looking_values_after_whitespace_are_redacted(value: str) -> None:
    assert redact({"note": value}) == ({"note": "[redacted]"}, ["payload.note"])
