"""The interfaces every identity source implements, and what they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pydantic import SecretStr

from gateway.errors import DirectoryActionError
from gateway.identity.facts import IdentityFacts, ResourceFacts

__all__ = [
    "ActionResult",
    "DirectoryActions",
    "DirectoryConnector",
    "DirectoryListing",
    "ListedDirectory",
    "PasswordDirectory",
    "PasswordElsewhereError",
    "SiteDirectory",
    "account_facts",
]


class DirectoryConnector(Protocol):
    """A source of identity facts (static file, LDAP, Active Directory, Okta).

    ``get_user`` raises ``UnknownActorError`` when there is no such user and
    ``DirectoryUnavailableError`` when the source cannot be reached; it never returns
    facts it could not read.
    """

    name: str

    def get_user(self, user_id: str) -> IdentityFacts:
        """The facts about ``user_id``."""
        ...

    def get_resource(self, resource_type: str, resource_id: str) -> ResourceFacts | None:
        """The facts about a resource, or ``None`` when the directory knows nothing of it."""
        ...

    def find_users(
        self, *, email: str | None = None, username: str | None = None
    ) -> list[IdentityFacts]:
        """Every user whose email or username is exactly the one given (case-insensitive)."""
        ...


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What a directory action did; ``changed`` is false when it was already so.

    ``acted_in`` names the source that made (or found) the change, and ``routing`` says why
    it was not the usual one (a password another directory owns); a resolver fills both.
    """

    changed: bool
    detail: str
    acted_in: str | None = None
    routing: str | None = None


class PasswordElsewhereError(DirectoryActionError):
    """A source holds the account, but another directory owns its password (an Okta user
    mastered by Active Directory or LDAP): the source refused before changing anything.

    ``flavor`` is the kind of directory that owns it (``active_directory`` or ``openldap``)
    and ``directory`` its instance name as the source reports it."""

    def __init__(
        self, action: str, user_id: str, *, source: str, flavor: str, directory: str
    ) -> None:
        self.action, self.user_id, self.source = action, user_id, source
        self.flavor, self.directory = flavor, directory
        kind = "Active Directory" if flavor == "active_directory" else "LDAP directory"
        self.reason = (
            f"{source} reports that the password of {user_id} is owned by {kind} {directory!r}"
        )
        super().__init__(f"{action} {user_id!r}: {self.reason}; {source} cannot change it")


@dataclass(frozen=True, slots=True)
class DirectoryListing:
    """Facts a directory has in hand, as ``get_user`` and ``get_resource`` give them:
    ``users`` and ``resources`` as (type, id, facts)."""

    users: tuple[IdentityFacts, ...]
    resources: tuple[tuple[str, str, ResourceFacts], ...] = ()


@runtime_checkable
class ListedDirectory(Protocol):
    """A directory that can list the facts it has in hand without asking anyone: the
    embedded file lists everything, a resolver the users it holds in its cache."""

    def listing(self) -> DirectoryListing: ...


@runtime_checkable
class PasswordDirectory(Protocol):
    """A directory that keeps passwords itself; ``flavor`` is ``openldap`` or
    ``active_directory`` (an LDAP source)."""

    name: str
    flavor: str


@runtime_checkable
class SiteDirectory(Protocol):
    """A source that lists the people of one location (a site, a branch office) with one
    query: what a field kit is prepared from.  A user's location is LDAP's ``l`` (or the
    attribute ``[identity.ldap.attributes] location`` names), Okta's ``profile.city``, the
    static file's ``location``."""

    def users_at(self, location: str) -> list[IdentityFacts]:
        """Every user whose location is ``location``; raises like ``get_user``."""
        ...


@runtime_checkable
class DirectoryActions(Protocol):
    """The directory changes support work needs.  Each is idempotent where it can be:
    repeating it leaves the directory as the first call did and reports ``changed=False``.
    A new password is a ``SecretStr`` and never appears in a result, log or error."""

    def reset_password(
        self, user_id: str, new_password: SecretStr, *, must_change: bool = True
    ) -> ActionResult: ...

    def unlock_account(self, user_id: str) -> ActionResult: ...

    def set_enabled(self, user_id: str, enabled: bool) -> ActionResult: ...

    def add_to_group(self, user_id: str, group: str) -> ActionResult: ...

    def remove_from_group(self, user_id: str, group: str) -> ActionResult: ...


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
        {
            "type": "account",
            "id": user.id,
            "attributes": attributes,
            "stale_since": user.stale_since,
        }
    )
