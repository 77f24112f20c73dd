"""The embedded identity source: a YAML file of users, groups and resources.

Format (see ``docs/static-directory.md``)::

    privileged_groups: [domain-admins]
    groups:
      helpdesk: {member_of: [it-staff]}
    users:
      alice: {display_name: Alice, department: Finance, groups: [staff], manager: carol}
    resources:
      "software:visio": {approved: true, licensed: true}
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.errors import SourceError, SourceProblem, UnknownActorError
from gateway.identity.directory import DirectoryListing, account_facts
from gateway.identity.facts import AccountStatus, IdentityFacts, ResourceFacts
from gateway.yaml_source import load_yaml_model

__all__ = ["StaticDirectory", "StaticDirectoryFile", "StaticGroup", "StaticUser"]


class StaticUser(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    display_name: str = ""
    email: str | None = None
    status: AccountStatus = AccountStatus.ACTIVE
    groups: list[str] = []
    department: str = ""
    title: str = ""
    manager: str | None = None
    location: str = ""
    employee_type: str = "employee"
    mfa: list[str] = []


class StaticGroup(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    member_of: list[str] = []


class StaticDirectoryFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    privileged_groups: list[str] = []
    groups: dict[str, StaticGroup] = {}
    users: dict[str, StaticUser] = {}
    resources: dict[str, dict[str, JsonValue]] = Field(default_factory=dict)


class StaticDirectory:
    """A ``DirectoryConnector`` over an in-memory directory loaded from YAML."""

    name = "static"

    def __init__(self, directory: StaticDirectoryFile) -> None:
        self._directory = directory
        self._privileged = frozenset(directory.privileged_groups)
        self._users: dict[str, IdentityFacts] = {}
        self._expand = cache(self._expand_group)

    @classmethod
    def load(cls, path: Path) -> StaticDirectory:
        """Load and check a directory file; errors name the file and line."""
        model, document = load_yaml_model(path, StaticDirectoryFile, "invalid directory file")
        problems = [
            SourceProblem(str(path), document.line_of(("users", user_id, "manager")), message)
            for user_id, user in model.users.items()
            if user.manager is not None and user.manager not in model.users
            for message in [f"users.{user_id}.manager: unknown user {user.manager!r}"]
        ]
        for key in model.resources:
            if ":" not in key:
                line = document.line_of(("resources", key))
                problems.append(
                    SourceProblem(str(path), line, f"resources.{key}: expected TYPE:ID")
                )
        if problems:
            raise SourceError("invalid directory file", problems)
        return cls(model)

    @property
    def user_count(self) -> int:
        return len(self._directory.users)

    def _expand_group(self, group: str) -> frozenset[str]:
        seen = {group}
        pending = [group]
        while pending:
            declared = self._directory.groups.get(pending.pop())
            for parent in declared.member_of if declared else ():
                if parent not in seen:
                    seen.add(parent)
                    pending.append(parent)
        return frozenset(seen)

    def get_user(self, user_id: str) -> IdentityFacts:
        facts = self._users.get(user_id)
        if facts is not None:
            return facts
        user = self._directory.users.get(user_id)
        if user is None:
            raise UnknownActorError(user_id)
        groups = frozenset().union(*(self._expand(group) for group in user.groups))
        facts = IdentityFacts(
            id=user_id,
            username=user_id,
            display_name=user.display_name,
            email=user.email,
            status=user.status,
            groups=groups,
            department=user.department,
            title=user.title,
            manager=user.manager,
            location=user.location,
            employee_type=user.employee_type,
            mfa_factors=tuple(user.mfa),
            privileged=bool(groups & self._privileged),
        )
        self._users[user_id] = facts
        return facts

    def find_users(
        self, *, email: str | None = None, username: str | None = None
    ) -> list[IdentityFacts]:
        wanted_email = email.casefold() if email else None
        wanted_name = username.casefold() if username else None
        return [
            self.get_user(user_id)
            for user_id, user in self._directory.users.items()
            if (wanted_name is not None and user_id.casefold() == wanted_name)
            or (wanted_email is not None and (user.email or "").casefold() == wanted_email)
        ]

    def users_at(self, location: str) -> list[IdentityFacts]:
        return [
            self.get_user(user_id)
            for user_id, user in self._directory.users.items()
            if user.location == location
        ]

    def get_resource(self, resource_type: str, resource_id: str) -> ResourceFacts | None:
        if resource_type == "account":
            try:
                return account_facts(self.get_user(resource_id))
            except UnknownActorError:
                return None
        attributes = self._directory.resources.get(f"{resource_type}:{resource_id}")
        if attributes is None:
            return None
        return ResourceFacts(type=resource_type, id=resource_id, attributes=attributes)

    def listing(self) -> DirectoryListing:
        """Every user, each user's account, and every resource of the file (a resource
        listed as ``account:...`` is not: ``get_resource`` answers accounts from users)."""
        users = tuple(self.get_user(user_id) for user_id in self._directory.users)
        resources = [("account", user.id, account_facts(user)) for user in users]
        for key, attributes in self._directory.resources.items():
            kind, _, ident = key.partition(":")
            if kind != "account":
                resources.append(
                    (kind, ident, ResourceFacts(type=kind, id=ident, attributes=attributes))
                )
        return DirectoryListing(users, tuple(resources))
