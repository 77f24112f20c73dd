"""An outside directory the tests control: facts from a static model, outages on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import SecretStr

from gateway.errors import DirectoryUnavailableError
from gateway.identity.directory import ActionResult
from gateway.identity.facts import IdentityFacts, ResourceFacts
from gateway.identity.static import StaticDirectory, StaticDirectoryFile

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@dataclass
class Directory:
    """An outside directory the tests control: it can be taken down and brought back."""

    name: str
    users: dict[str, dict[str, object]]
    resources: dict[str, dict[str, object]] = field(default_factory=dict)
    down: bool = False
    calls: int = 0

    def _static(self) -> StaticDirectory:
        model = StaticDirectoryFile.model_validate(
            {"users": self.users, "resources": self.resources, "privileged_groups": ["admins"]}
        )
        return StaticDirectory(model)

    def _check(self) -> None:
        self.calls += 1
        if self.down:
            raise DirectoryUnavailableError(f"{self.name}: connection refused")

    def get_user(self, user_id: str) -> IdentityFacts:
        self._check()
        facts = self._static().get_user(user_id)
        return facts.model_copy(update={"source": self.name, "read_at": NOW})

    def get_resource(self, resource_type: str, resource_id: str) -> ResourceFacts | None:
        self._check()
        return self._static().get_resource(resource_type, resource_id)

    def find_users(
        self, *, email: str | None = None, username: str | None = None
    ) -> list[IdentityFacts]:
        self._check()
        return self._static().find_users(email=email, username=username)


@dataclass
class ActingDirectory(Directory):
    """A directory that also takes changes; it keeps the status and groups it is told."""

    changes: list[str] = field(default_factory=list)

    def _change(self, user_id: str, what: str, **facts: object) -> ActionResult:
        self.changes.append(f"{what} {user_id}")
        self.users[user_id] = {**self.users[user_id], **facts}
        return ActionResult(True, what)

    def reset_password(
        self, user_id: str, new_password: SecretStr, *, must_change: bool = True
    ) -> ActionResult:
        return self._change(
            user_id, "reset", status="password_expired" if must_change else "active"
        )

    def unlock_account(self, user_id: str) -> ActionResult:
        return self._change(user_id, "unlock", status="active")

    def set_enabled(self, user_id: str, enabled: bool) -> ActionResult:
        return self._change(
            user_id, "enable" if enabled else "disable", status="active" if enabled else "disabled"
        )

    def add_to_group(self, user_id: str, group: str) -> ActionResult:
        groups = [*self.users[user_id].get("groups", []), group]  # type: ignore[misc]
        return self._change(user_id, f"add {group}", groups=groups)

    def remove_from_group(self, user_id: str, group: str) -> ActionResult:
        groups = [g for g in self.users[user_id].get("groups", []) if g != group]  # type: ignore[attr-defined]
        return self._change(user_id, f"remove {group}", groups=groups)


@dataclass
class SiteDirectory(Directory):
    """A directory that also lists the people of one location with one query."""

    def users_at(self, location: str) -> list[IdentityFacts]:
        self._check()
        return [
            facts.model_copy(update={"source": self.name, "read_at": NOW})
            for facts in self._static().users_at(location)
        ]
