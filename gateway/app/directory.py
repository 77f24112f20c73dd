"""The configured identity source (``[identity]``): the embedded directory file, LDAP or
Active Directory, Okta, or a resolver over several."""

from __future__ import annotations

from typing import TypeVar

from gateway.config import IdentityConfig
from gateway.errors import ConfigError
from gateway.identity.directory import DirectoryConnector, ListedDirectory
from gateway.identity.resolver import IdentityResolver
from gateway.identity.static import StaticDirectory
from gateway.policy.engine import PolicyEngine
from gateway.policy.store import PolicyStore

__all__ = ["build_directory", "load_directory_into_engines"]

Table = TypeVar("Table")


def _table(table: Table | None, kind: str) -> Table:
    if table is None:  # a configuration built without validation
        raise ConfigError(f"identity: source {kind!r} needs an [identity.{kind}] table")
    return table


def build_directory(config: IdentityConfig) -> DirectoryConnector:
    """The configured identity source, or a resolver over several (``config`` holds the
    resolver's settings); each connector's secret is read from the environment here."""
    sources: list[DirectoryConnector] = []
    for kind in config.sources:
        if kind == "static":
            sources.append(StaticDirectory.load(config.static_file))
        elif kind == "ldap":  # imported on use: ldap3 is slow to import
            from gateway.identity.ldap import LdapDirectory

            sources.append(LdapDirectory(_table(config.ldap, kind).with_secrets("identity.ldap")))
        else:
            from gateway.identity.okta import OktaDirectory

            sources.append(OktaDirectory(_table(config.okta, kind).with_secrets("identity.okta")))
    if len(sources) == 1 and kind == "static":
        return sources[0]
    return IdentityResolver(
        sources=sources,
        settings=config,
        authoritative=next(
            (
                s.name
                for s, k in zip(sources, config.sources, strict=True)
                if k == config.authoritative
            ),
            None,
        ),
        privileged_groups=frozenset(config.privileged_groups),
    )


def load_directory_into_engines(
    policies: PolicyStore, directory: DirectoryConnector, config: IdentityConfig
) -> bool:
    """Have every engine ``policies`` puts in force (now, and on each reload) parse the
    directory's entities before it serves (``PolicyEngine.load_directory``): the whole
    embedded directory file, or, with ``[identity] preload_cached_facts``, the users a
    resolver over LDAP, Active Directory or Okta holds in its cache then.  True when it
    will; without it, decisions parse their own entities (the same answers, slower)."""
    if not isinstance(directory, ListedDirectory):
        return False
    if not isinstance(directory, StaticDirectory) and not config.preload_cached_facts:
        return False
    listed = directory

    def load(engine: PolicyEngine) -> None:
        listing = listed.listing()
        engine.load_directory(listing.users, listing.resources)

    policies.prepare_engines(load)
    return True
