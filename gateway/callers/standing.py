"""A person's standing: whether the directory still lets them in.

Checked when a token is issued and on every request a person makes, so a token outlives
neither its person's account nor a lock on it.  ``disabled``, ``locked`` and ``suspended``
refuse; ``active`` and ``password_expired`` pass (a person whose password expired must
still reach self-service to reset it).  The directory connectors cache their facts, so
the check is a cache read on the hot path; a directory that cannot be reached (and has no
usable cached facts) raises ``DirectoryUnavailableError``: fail closed.
"""

from __future__ import annotations

from gateway.callers.errors import InactivePersonError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.facts import AccountStatus

__all__ = ["INACTIVE", "verify_active_person"]

INACTIVE = frozenset({AccountStatus.DISABLED, AccountStatus.LOCKED, AccountStatus.SUSPENDED})


def verify_active_person(directory: DirectoryConnector, person: str) -> None:
    """Raise ``InactivePersonError`` unless ``person`` may act now; ``UnknownActorError``
    when the directory does not know them, ``DirectoryUnavailableError`` when it cannot
    say."""
    facts = directory.get_user(person)
    if facts.status in INACTIVE:
        raise InactivePersonError(person, str(facts.status))
