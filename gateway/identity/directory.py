"""The interface every identity source implements."""

from __future__ import annotations

from typing import Protocol

from gateway.identity.facts import IdentityFacts, ResourceFacts

__all__ = ["DirectoryConnector", "account_facts"]


class DirectoryConnector(Protocol):
    """A source of identity facts (static file, LDAP, Active Directory, Okta)."""

    def get_user(self, user_id: str) -> IdentityFacts:
        """The facts about ``user_id``; raises ``UnknownActorError`` when there is none."""
        ...

    def get_resource(self, resource_type: str, resource_id: str) -> ResourceFacts | None:
        """The facts about a resource, or ``None`` when the directory knows nothing of it."""
        ...


def account_facts(user: IdentityFacts) -> ResourceFacts:
    """A user's account seen as the target of an action (a reset, an unlock, a grant)."""
    attributes: dict[str, object] = {
        "owner": {"type": "User", "id": user.id},
        "privileged": user.privileged,
        "status": str(user.status),
        "department": user.department,
    }
    if user.manager is not None:
        attributes["manager"] = {"type": "User", "id": user.manager}
    return ResourceFacts.model_validate(
        {"type": "account", "id": user.id, "attributes": attributes}
    )
