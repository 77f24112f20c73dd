"""The facts a decision was made on, as its decision record keeps them for replay.

A decision record's ``payload["facts"]`` (written by the enforcement point for every
decision the policies made) holds what the engines saw of the actor and the resource::

    {"v": 1,
     "actor": {"id": "tom", "groups": ["employees"], "department": "Sales",
               "mfa_factors": ["totp"], "manager": "sam"},
     "resource": {"owner": {"type": "User", "id": "tom"}}}      # or null: no facts

The actor part is every fact the engines read (Casbin: the id and the directory groups,
the roles following from the bundle; Cedar: the principal's attributes ``department``,
``title``, ``status``, ``privileged``, ``mfa_factors`` (as ``mfa_enrolled``),
``employee_type``, ``location``, ``manager``), each only when it differs from its default
(``""``, ``active``, ``false``, ``[]``, ``employee``, ``null``); ``resource`` is the
resource's attributes.  The request context is the record's ``payload["context"]``
(already there, exactly as the engines saw it).  Replaying a record rebuilds the facts
from this form (:func:`read_recorded_facts`); a value that is not this form (erased,
sealed and unreadable, malformed) reads as ``None`` and the record is not replayable:
never guessed from the directory's current facts.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from gateway.identity.facts import AccountStatus, IdentityFacts, ResourceFacts

__all__ = ["FACTS_VERSION", "read_recorded_facts", "recorded_facts"]

FACTS_VERSION = 1


def recorded_facts(actor: IdentityFacts, resource: ResourceFacts | None) -> dict[str, Any]:
    """The record form of the facts a decision was made on: field reads only, and only the
    actor facts that differ from their defaults (``id`` always)."""
    kept: dict[str, Any] = {"id": actor.id}
    if actor.groups:
        kept["groups"] = sorted(actor.groups)
    for name in _TEXT:
        value = getattr(actor, name)
        if value:
            kept[name] = value
    if actor.status is not AccountStatus.ACTIVE:
        kept["status"] = str(actor.status)
    if actor.privileged:
        kept["privileged"] = True
    if actor.mfa_factors:
        kept["mfa_factors"] = list(actor.mfa_factors)
    if actor.employee_type != "employee":
        kept["employee_type"] = actor.employee_type
    return {
        "v": FACTS_VERSION,
        "actor": kept,
        "resource": resource.attributes if resource is not None else None,
    }


_TEXT = ("department", "title", "location", "manager")


class _RecordedActor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    groups: list[str] = []
    department: str = ""
    title: str = ""
    status: AccountStatus = AccountStatus.ACTIVE
    privileged: bool = False
    mfa_factors: list[str] = []
    employee_type: str = "employee"
    location: str = ""
    manager: str | None = None


class _RecordedFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    v: int
    actor: _RecordedActor
    resource: dict[str, JsonValue] | None


def read_recorded_facts(
    value: object, resource_type: str, resource_id: str
) -> tuple[IdentityFacts, ResourceFacts | None] | None:
    """The actor's and the resource's facts from a record's ``facts``; ``None`` when the
    value is not the recorded form (erased, sealed, malformed, another version)."""
    try:
        facts = _RecordedFacts.model_validate(value)
    except ValidationError:
        return None
    if facts.v != FACTS_VERSION:
        return None
    recorded = facts.actor
    actor = IdentityFacts(
        id=recorded.id,
        username=recorded.id,
        groups=frozenset(recorded.groups),
        department=recorded.department,
        title=recorded.title,
        status=recorded.status,
        privileged=recorded.privileged,
        mfa_factors=tuple(recorded.mfa_factors),
        employee_type=recorded.employee_type,
        location=recorded.location,
        manager=recorded.manager,
        source="audit record",
    )
    if facts.resource is None:
        return actor, None
    return actor, ResourceFacts(type=resource_type, id=resource_id, attributes=facts.resource)
