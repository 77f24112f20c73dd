"""Catalog item definitions as they are written in ``automations/catalog/*.yaml``.

An item says what it is (id, title, description, category, owner, version, keywords),
what a person gives it (``parameters``), which workflow it runs and with what (``with``,
templates over ``params``, ``actor`` and ``target``), what it acts on (``target``: the
parameter naming the devices or accounts), the guardrails around it, and how many minutes
a ticket for the same thing would have cost.  Who may see and run an item is not written
here: the policy decision point decides it (``selfservice.view`` and ``selfservice.run``
on ``catalog_item:<id>``).
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.runtime.parameters import ParameterSpec

__all__ = [
    "CatalogItemDefinition",
    "CatalogParameter",
    "Guardrails",
    "MaintenanceWindow",
    "Quota",
    "RateLimit",
    "parse_duration",
]

ID_PATTERN = r"^[a-z][a-z0-9-]{0,63}$"
_DURATION = re.compile(r"([0-9]{1,6})([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_duration(text: str) -> int:
    """``30s``, ``10m``, ``1h``, ``1d`` in seconds; ``ValueError`` otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"expected a duration like 30s, 10m, 1h or 1d, found {text!r}")
    return int(match.group(1)) * _UNIT[match.group(2)]


class CatalogParameter(BaseModel):
    """A parameter a person fills in.  ``list`` takes several values (the targets of a
    run, say), each checked like a string; ``source`` takes the allowed values from the
    approved software list or the device inventory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["string", "integer", "boolean", "list"] = "string"
    description: str = ""
    required: bool | None = None
    default: str | int | bool | None = None
    enum: list[str | int] | None = None
    pattern: str | None = None
    min_length: int = Field(default=0, ge=0)
    max_length: int = Field(default=256, ge=1, le=4096)
    minimum: int | None = None
    maximum: int | None = None
    secret: bool = False
    source: Literal["approved_software", "devices"] | None = None
    max_items: int = Field(default=10, ge=1, le=1000)

    @model_validator(mode="after")
    def _check(self) -> CatalogParameter:
        if self.type == "list" and self.default is not None:
            raise ValueError("a list parameter has no default")
        if self.source is not None and self.type not in ("string", "list"):
            raise ValueError("source applies to string and list parameters only")
        if self.secret and self.source is not None:
            raise ValueError("a secret parameter cannot take its values from a source")
        self.spec()  # the constraints themselves are checked by the runtime's model
        return self

    def spec(self) -> ParameterSpec:
        """The runtime's model of one value (each item, for a list)."""
        return ParameterSpec(
            type="string" if self.type == "list" else self.type,
            description=self.description,
            required=True if self.type == "list" else self.required,
            default=self.default,
            enum=self.enum,
            pattern=self.pattern,
            min_length=self.min_length,
            max_length=self.max_length,
            minimum=self.minimum,
            maximum=self.maximum,
            secret=self.secret,
        )

    @property
    def is_required(self) -> bool:
        if self.type == "list":
            return self.required is not False
        return self.spec().is_required


class RateLimit(BaseModel):
    """At most ``max`` runs in any window of ``per`` (``10m``, ``1h``), for each person
    (``scope: user``) or for everyone together (``scope: global``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: Literal["user", "global"] = "user"
    max: int = Field(ge=1)
    per: str

    @field_validator("per")
    @classmethod
    def _check_per(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def seconds(self) -> int:
        return parse_duration(self.per)


class Quota(BaseModel):
    """At most ``max`` runs per calendar ``period`` (UTC; a week starts on Monday)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: Literal["user", "global"] = "user"
    max: int = Field(ge=1)
    period: Literal["day", "week", "month"] = "day"


class MaintenanceWindow(BaseModel):
    """A time (UTC) when the item is not available, e.g. while the device manager is
    patched; ``end`` before ``start`` runs past midnight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: list[Day] = Field(default_factory=lambda: list(DAYS))
    start: time
    end: time
    reason: str = "maintenance"

    @model_validator(mode="after")
    def _check(self) -> MaintenanceWindow:
        if self.start == self.end:
            raise ValueError("start and end are the same time")
        return self


class Guardrails(BaseModel):
    """Server-side limits around an item; each refusal is explained, counted, audited."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate_limits: list[RateLimit] = Field(default_factory=list)
    quotas: list[Quota] = Field(default_factory=list)
    max_concurrent: int | None = Field(default=None, ge=1)
    max_targets: int | None = Field(default=None, ge=1)
    allowed_targets: Literal["any", "own_account", "own_device"] = "any"
    approval_above: int | None = Field(default=None, ge=0)
    maintenance_windows: list[MaintenanceWindow] = Field(default_factory=list)


class CatalogItemDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    category: str = Field(pattern=ID_PATTERN)
    owner: str = Field(min_length=1, max_length=128)
    version: int = Field(default=1, ge=1)
    keywords: list[str] = Field(default_factory=list)
    workflow: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    parameters: dict[str, CatalogParameter] = Field(default_factory=dict)
    target: str | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    minutes_saved: int = Field(default=0, ge=0, le=10_000)
    guardrails: Guardrails = Guardrails()

    @model_validator(mode="after")
    def _check(self) -> CatalogItemDefinition:
        for name in self.parameters:
            if re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name) is None:
                raise ValueError(f"parameter name {name[:64]!r} must match [a-z][a-z0-9_]*")
        if self.target is not None:
            found = self.parameters.get(self.target)
            if found is None:
                raise ValueError(f"target {self.target!r} is not a parameter")
            if found.type not in ("string", "list") or found.secret:
                raise ValueError("target must be a string or list parameter, not secret")
        rails = self.guardrails
        needs_target = (
            rails.max_targets is not None
            or rails.approval_above is not None
            or rails.allowed_targets != "any"
        )
        if needs_target and self.target is None:
            raise ValueError(
                "max_targets, approval_above and allowed_targets need a target parameter"
            )
        return self
