"""Identity facts about actors and targets, from the directory sources."""

from gateway.identity.directory import DirectoryConnector, account_facts
from gateway.identity.facts import AccountStatus, ActorId, IdentityFacts, ResourceFacts
from gateway.identity.static import StaticDirectory

__all__ = [
    "AccountStatus",
    "ActorId",
    "DirectoryConnector",
    "IdentityFacts",
    "ResourceFacts",
    "StaticDirectory",
    "account_facts",
]
