"""Identity facts: what the directory says about a person or a resource."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import NewType

from pydantic import BaseModel, ConfigDict, JsonValue

__all__ = ["AccountStatus", "ActorId", "IdentityFacts", "ResourceFacts"]

ActorId = NewType("ActorId", str)


class AccountStatus(StrEnum):
    """The state of a directory account; anything but ``active`` is treated as inactive."""

    ACTIVE = "active"
    DISABLED = "disabled"
    LOCKED = "locked"
    PASSWORD_EXPIRED = "password_expired"  # noqa: S105 - a status, not a password
    SUSPENDED = "suspended"


class IdentityFacts(BaseModel):
    """What the directory knows about one user, with groups already resolved transitively."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    username: str
    display_name: str = ""
    email: str | None = None
    status: AccountStatus = AccountStatus.ACTIVE
    groups: frozenset[str] = frozenset()
    department: str = ""
    title: str = ""
    manager: str | None = None
    location: str = ""
    employee_type: str = "employee"
    mfa_factors: tuple[str, ...] = ()
    privileged: bool = False
    # Provenance: which source said so, when it was read, and the source's own
    # last-changed time for the entry (``None`` when the source does not say).
    source: str = "static"
    read_at: datetime | None = None
    changed_at: datetime | None = None
    password_changed_at: datetime | None = None
    # For facts merged from several sources: fact name -> the source it came from.
    fact_sources: dict[str, str] = {}
    # Fact name -> why the source has no value for it (e.g. a manager id naming no one).
    notes: dict[str, str] = {}
    # Set when these facts come from cache because a source could not be reached.
    stale_since: datetime | None = None

    @property
    def mfa_enrolled(self) -> bool:
        return bool(self.mfa_factors)


class ResourceFacts(BaseModel):
    """Attributes of a resource (a system, a software title, a host, ...).

    An attribute value that is a mapping with exactly ``type`` and ``id`` refers to an
    entity, for example ``{"type": "User", "id": "carol"}`` for an owner.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    id: str
    attributes: dict[str, JsonValue] = {}
    stale_since: datetime | None = None
