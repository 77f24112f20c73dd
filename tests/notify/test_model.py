"""The notification model keeps secrets out, whoever builds it."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from gateway.notify import Notification, NotificationKind


def make(**overrides: object) -> Notification:
    data: dict[str, object] = {
        "kind": NotificationKind.APPROVAL_REQUESTED,
        "title": "Please approve: reset password for bob",
        "text": "alice asks to reset bob's password (ticket INC0012).",
    }
    data.update(overrides)
    return Notification.model_validate(data)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("password", "hunter2!", id="a field named password is redacted"),
        pytest.param("api_token", "abc", id="a field whose name holds token is redacted"),
        pytest.param("note", "Bearer abc.def", id="a bearer value is redacted by its look"),
        pytest.param("otp", "123456", id="a one-time code is redacted"),
        pytest.param("seed", SecretStr("JBSWY3DP"), id="a SecretStr value is redacted"),
    ],
)
def test_secret_fields_are_redacted(key: str, value: object) -> None:
    notification = make(fields={"ticket": "INC0012", key: value})
    assert notification.fields == {"ticket": "INC0012", key: "[redacted]"}
    assert notification.redacted == (key,)
    assert "hunter2" not in notification.model_dump_json()


def test_plain_fields_are_kept() -> None:
    notification = make(fields={"ticket": "INC0012", "requester": "alice"}, link="https://x/1")
    assert notification.fields == {"ticket": "INC0012", "requester": "alice"}
    assert notification.redacted == ()
    assert notification.link == "https://x/1"


@pytest.mark.parametrize(
    "field", ["title", "text", "link"], ids=lambda name: f"a secret-looking {name} is refused"
)
def test_secret_looking_text_is_refused(field: str) -> None:
    with pytest.raises(ValidationError, match="looks like a secret"):
        make(**{field: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2ln"})


def test_a_notification_survives_a_json_round_trip_without_losing_its_redactions() -> None:
    notification = make(fields={"password": "x"}, recipients=("alice@example.com",))
    again = Notification.model_validate_json(notification.model_dump_json())
    assert again == notification
    assert again.redacted == ("password",)


def test_a_notification_is_frozen_and_strict() -> None:
    notification = make()
    with pytest.raises(ValidationError):
        notification.title = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs"):
        make(secret_sauce="x")
    assert len(notification.id) == 32
    assert make().id != notification.id


def test_non_dict_input_reaches_validation() -> None:
    with pytest.raises(ValidationError):
        Notification.model_validate(["not", "a", "dict"])
