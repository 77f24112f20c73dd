"""An outside directory the tests control: facts from a static model, outages on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.errors import DirectoryUnavailableError
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
