"""How to reach an Okta org, and the shapes of what it answers.

``OktaSettings``: the base URL, the API token, the limits of patience and how long a
resolved manager is remembered (``manager_ttl_seconds``).  The token is a
``SecretStr`` and validation errors hide their input, so neither ``repr``, ``str`` nor a
``ValidationError`` of these settings ever shows it.

``OktaUser`` (with ``credentials.provider``), ``OktaGroup``, ``OktaFactor`` and
``OktaErrorObject`` read the Management API's JSON (only the fields the gateway uses; the
rest is ignored); ``parse_answer`` turns a malformed answer into an ``IdentityError``
naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from gateway.errors import IdentityError
from gateway.secrets import EnvSecret, EnvSecrets
from gateway.urls import is_loopback_host

__all__ = [
    "OktaErrorObject",
    "OktaFactor",
    "OktaGroup",
    "OktaObject",
    "OktaSettings",
    "OktaUser",
    "parse_answer",
]


class OktaSettings(EnvSecrets):
    """Connection settings for ``OktaDirectory``.

    ``base_url`` is the org URL (``https://example.okta.com``); plain ``http`` is accepted
    only for a loopback host, which is what the integration tests use.  ``max_retries``
    counts the extra attempts after an HTTP 429 or 5xx answer; ``max_wait_seconds`` caps
    any single wait, including one asked for by ``X-Rate-Limit-Reset``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
    required_secrets = ("token",)

    base_url: str
    token: EnvSecret = Field(default=None, min_length=1)
    token_env: str | None = Field(default=None, min_length=1)
    name: str = Field(default="okta", min_length=1)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    page_size: int = Field(default=200, ge=1, le=200)
    max_retries: int = Field(default=3, ge=0, le=10)
    max_wait_seconds: float = Field(default=60.0, ge=0, le=3600)
    backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    privileged_groups: list[str] = Field(default=[])
    manager_ttl_seconds: float = Field(default=300.0, ge=0, le=86400)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("expected an https:// URL such as https://example.okta.com")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError("plain http is allowed only for a loopback host; use https://")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("expected scheme, host and port only (no credentials or query)")
        if parts.path.strip("/"):
            raise ValueError("expected the org URL without a path (no /api/v1)")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and any(
            ch.isspace() or not ch.isprintable() for ch in value.get_secret_value()
        ):
            raise ValueError("the API token must not contain spaces or control characters")
        return value


# -- the shapes Okta answers with ----------------------------------------------------


class OktaObject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class OktaProfile(OktaObject):
    login: str
    email: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    displayName: str | None = None
    department: str | None = None
    title: str | None = None
    managerId: str | None = None
    manager: str | None = None
    city: str | None = None
    userType: str | None = None


class OktaProvider(OktaObject):
    """Who checks the user's password: ``OKTA``, ``ACTIVE_DIRECTORY``, ``LDAP``,
    ``FEDERATION``, ``SOCIAL`` or ``IMPORT``; ``name`` is the directory instance for
    ``ACTIVE_DIRECTORY`` and ``LDAP``."""

    type: str = "OKTA"
    name: str | None = None


class OktaCredentials(OktaObject):
    provider: OktaProvider = OktaProvider()


class OktaUser(OktaObject):
    id: str
    status: str
    profile: OktaProfile
    credentials: OktaCredentials = OktaCredentials()
    lastUpdated: datetime | None = None
    passwordChanged: datetime | None = None


class OktaGroupProfile(OktaObject):
    name: str


class OktaGroup(OktaObject):
    id: str
    profile: OktaGroupProfile


class OktaFactor(OktaObject):
    factorType: str
    status: str


class OktaErrorCause(OktaObject):
    errorSummary: str = ""


class OktaErrorObject(OktaObject):
    errorCode: str = "(no errorCode)"
    errorSummary: str = ""
    errorCauses: list[OktaErrorCause] = []


_M = TypeVar("_M", bound=OktaObject)


def parse_answer(model: type[_M], data: object, where: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise IdentityError(f"Okta {where}: unexpected answer: {field}: {first['msg']}") from None
