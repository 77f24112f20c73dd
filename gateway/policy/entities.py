"""Identity facts as Cedar entities: the attributes policies can rely on.

* principal ``User::"ID"`` with ``department``, ``title``, ``status``, ``privileged``,
  ``mfa_enrolled``, ``employee_type``, ``location`` and, when known, ``manager`` (a
  ``User``); its parents are ``Group::"NAME"`` for every directory group, transitively.
* resource ``TYPE::"ID"`` where ``TYPE`` is the request's resource type in PascalCase
  (``account`` -> ``Account``, ``software_title`` -> ``SoftwareTitle``) with the
  resource's attributes from the directory; a mapping ``{type, id}`` becomes an entity
  reference.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from gateway.identity.facts import IdentityFacts, ResourceFacts

__all__ = ["cedar_type", "resource_entity", "user_entity"]


@lru_cache(maxsize=256)
def cedar_type(resource_type: str) -> str:
    """The Cedar entity type for a request resource type."""
    return "".join(part.capitalize() for part in resource_type.split("_"))


def _value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"type", "id"}:
            return {"__entity": {"type": str(value["type"]), "id": str(value["id"])}}
        return {key: _value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_value(item) for item in value]
    return value


def user_entity(facts: IdentityFacts) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "department": facts.department,
        "title": facts.title,
        "status": str(facts.status),
        "privileged": facts.privileged,
        "mfa_enrolled": facts.mfa_enrolled,
        "employee_type": facts.employee_type,
        "location": facts.location,
    }
    if facts.manager is not None:
        attrs["manager"] = {"__entity": {"type": "User", "id": facts.manager}}
    return {
        "uid": {"type": "User", "id": facts.id},
        "attrs": attrs,
        "parents": [{"type": "Group", "id": group} for group in sorted(facts.groups)],
    }


def resource_entity(
    resource_type: str, resource_id: str, facts: ResourceFacts | None
) -> dict[str, Any]:
    attributes = facts.attributes if facts is not None else {}
    return {
        "uid": {"type": cedar_type(resource_type), "id": resource_id},
        "attrs": {key: _value(value) for key, value in attributes.items()},
        "parents": [],
    }
