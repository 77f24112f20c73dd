"""What a notification holds, and the guarantee that it holds no secret.

A ``Notification`` is built by the approvals service ("please approve", "approved",
"expired", escalations) and handed to any ``Notifier``.  Its ``fields`` go through
``gateway.audit.redaction.redact`` when the model is built: a value under a key that names a
secret (``password``, ``token``, ``otp``, ...) or a value that looks like one (a bearer
token, a JWT, an ``otpauth://`` URI) is replaced by ``"[redacted]"``, and ``redacted`` lists
the field names that were.  A title or text that looks like a secret is refused.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.audit.redaction import redact

__all__ = ["Notification", "NotificationKind"]


class NotificationKind(StrEnum):
    """Why the notification is sent."""

    APPROVAL_REQUESTED = "approval_requested"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    ESCALATED = "escalated"
    EXECUTION = "execution"  # a workflow tells a person what it did or what they must do
    ALERT = "alert"  # something needs attention: a refused offline segment


def _new_id() -> str:
    return uuid.uuid4().hex


class Notification(BaseModel):
    """One message to people: plain text, optional link and key/value fields.

    ``recipients`` are user or channel ids (Slack), e-mail addresses (SMTP) or names; each
    notifier documents how it uses them.  ``id`` is unique and keeps an outbox idempotent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: NotificationKind
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=10_000)
    recipients: tuple[str, ...] = ()
    link: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    redacted: tuple[str, ...] = ()
    id: str = Field(default_factory=_new_id, pattern=r"^[0-9a-f]{32}$")

    @field_validator("title", "text", "link")
    @classmethod
    def _no_secret_value(cls, value: str | None) -> str | None:
        _, dropped = redact(value)
        if dropped:
            raise ValueError("looks like a secret (a token, key or one-time code)")
        return value

    @model_validator(mode="before")
    @classmethod
    def _redact_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
            return data
        clean, dropped = redact(data["fields"], path="")
        names = tuple(path.removeprefix(".") for path in dropped)
        known = tuple(data.get("redacted", ()))
        return {**data, "fields": clean, "redacted": known + tuple(sorted(set(names) - set(known)))}
