"""The access request a caller asks the policy decision point about."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

__all__ = ["GATEWAY_CONTEXT", "AccessRequest", "ResourceRef", "caller_request"]

# Request context only the gateway sets (from the step-up store, the change calendar and
# the change requests); a caller that sends one of these is refused.
GATEWAY_CONTEXT = frozenset(
    {
        "step_up_age_seconds",
        "change_freeze",
        "change_window",
        "change_calendar_problem",
        "change_request",
        "offline",  # decided on a field kit (gateway.offline)
    }
)

_TYPE = re.compile(r"[a-z][a-z0-9_]*")
_ACTION = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"


class ResourceRef(BaseModel):
    """A resource named ``TYPE:ID``, for example ``account:alice`` or ``software:visio``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    id: str = Field(min_length=1, max_length=256)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            kind, sep, ident = value.partition(":")
            if not sep or not ident:
                raise ValueError(f"expected TYPE:ID, found {value!r}")
            return {"type": kind, "id": ident}
        return value

    @field_validator("type")
    @classmethod
    def _check_type(cls, value: str) -> str:
        if not _TYPE.fullmatch(value):
            raise ValueError(f"resource type must be lower-case letters, digits or _: {value!r}")
        return value

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"


class AccessRequest(BaseModel):
    """Who wants to do what, on which resource, in which context."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: str = Field(min_length=1, max_length=256)
    action: str = Field(pattern=_ACTION, max_length=128)
    resource: ResourceRef
    context: dict[str, JsonValue] = {}


def caller_request(request: AccessRequest) -> AccessRequest:
    """``request`` as its caller made it: without the context the gateway added."""
    if GATEWAY_CONTEXT.isdisjoint(request.context):
        return request
    context = {k: v for k, v in request.context.items() if k not in GATEWAY_CONTEXT}
    return request.model_copy(update={"context": context})
