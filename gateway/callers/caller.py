"""Who is calling: a service with an API key, or a person with a bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.callers.errors import MissingScopeError

__all__ = ["Caller", "CallerKind"]


class CallerKind(StrEnum):
    API_KEY = "api_key"  # a service (script, runbook, CI job)
    PERSON = "person"  # a person, named by a bearer token's subject


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller.

    ``id`` is the API key's id or the token's subject; ``name`` is the key's name or, for
    a person, the subject again.  ``scopes`` are what the credentials grant.
    """

    kind: CallerKind
    id: str
    name: str
    scopes: frozenset[str]

    @property
    def is_person(self) -> bool:
        return self.kind is CallerKind.PERSON

    @property
    def label(self) -> str:
        """How logs and audit records name the caller: ``elena`` or ``api-key:ci-bot``."""
        return self.id if self.is_person else f"api-key:{self.name}"

    def require(self, scope: str) -> None:
        """Raise ``MissingScopeError`` unless the credentials grant ``scope``."""
        if scope not in self.scopes:
            raise MissingScopeError(scope)
