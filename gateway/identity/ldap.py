"""The LDAP identity source: OpenLDAP and Active Directory through ldap3.

``LdapDirectory`` puts together the parts, each in its own module:

- ``ldap_connection``: a small pool of connections with failover and reconnect;
- ``ldap_search``: searches and paged searches, finding one user by username (every
  value from a caller that goes into a filter is escaped);
- ``ldap_groups``: nested group membership (AD's in-chain rule, or level by level),
  within ``max_group_depth`` / ``max_groups``;
- ``ldap_mapping``: the attributes read and the facts and account status they give;
- ``ldap_actions``: password reset, unlock, enable/disable, group membership.

Errors: an unreachable server or refused bind raises ``DirectoryUnavailableError``
naming the servers; an unknown user ``UnknownActorError``; two entries for one username
or a malformed attribute an ``IdentityError``; a refused change ``DirectoryActionError``.
None of them, nor ``repr``, ever carries a password.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ldap3 import SYNC  # type: ignore[import-untyped]
from pydantic import SecretStr

from gateway.errors import UnknownActorError
from gateway.identity.directory import ActionResult, account_facts
from gateway.identity.facts import IdentityFacts, ResourceFacts
from gateway.identity.ldap_actions import LdapActions
from gateway.identity.ldap_connection import Entry, LdapConnection, first
from gateway.identity.ldap_groups import LdapGroups
from gateway.identity.ldap_mapping import LdapMapping
from gateway.identity.ldap_search import LdapSearch
from gateway.identity.ldap_settings import LdapSettings

__all__ = ["LdapDirectory"]


class LdapDirectory:
    """A ``DirectoryConnector`` and ``DirectoryActions`` over OpenLDAP or Active Directory.

    ``server`` and ``client_strategy`` exist for tests (ldap3's ``MOCK_SYNC``); in
    production the servers are built from ``settings.urls``.
    """

    def __init__(
        self,
        settings: LdapSettings,
        *,
        server: Any = None,
        client_strategy: str = SYNC,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.flavor: str = settings.flavor  # which directory keeps the passwords here
        self._attrs = settings.attributes
        ad = settings.flavor == "active_directory"
        nesting = settings.nested_groups or ("in_chain" if ad else "iterative")
        self._ldap = LdapConnection(settings, server, client_strategy)
        self._search = LdapSearch(settings, self._ldap)
        self._groups = LdapGroups(settings, self._search, in_chain=nesting == "in_chain")
        self._mapping = LdapMapping(settings)
        self._actions = LdapActions(settings, self._ldap, self._search, self._user_attributes())

    def __repr__(self) -> str:
        return f"LdapDirectory(name={self.name!r}, urls={self.settings.urls!r})"

    def close(self) -> None:
        """Unbind the pooled connections (the directory reconnects when used again)."""
        self._ldap.close()

    def __enter__(self) -> LdapDirectory:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------

    def _user_attributes(self) -> list[str]:
        return self._mapping.user_attributes()

    def _facts(self, entry: Entry, known_manager: str | None = None) -> IdentityFacts:
        """The facts of ``entry``; its manager asked of the server unless known."""
        groups = self._groups.of(entry)
        return self._mapping.facts(entry, groups, known_manager or self._manager(entry))

    def _manager(self, entry: Entry) -> str | None:
        manager_dn = first(entry[1], self._attrs.manager)
        return None if manager_dn is None else self._search.username_at(manager_dn)

    def get_user(self, user_id: str) -> IdentityFacts:
        return self._facts(self._search.find_user(user_id, self._user_attributes()))

    def find_users(
        self, *, email: str | None = None, username: str | None = None
    ) -> list[IdentityFacts]:
        wanted = {self._attrs.username: username, self._attrs.email: email}
        values = {name: value for name, value in wanted.items() if value is not None}
        if not values:
            return []
        entries = self._search.search(
            self.settings.user_base, self._search.user_filter(**values), self._user_attributes()
        )
        return [self._facts(entry) for entry in entries]

    def get_resource(self, resource_type: str, resource_id: str) -> ResourceFacts | None:
        if resource_type != "account":
            return None
        try:
            return account_facts(self.get_user(resource_id))
        except UnknownActorError:
            return None

    def users_at(self, location: str) -> list[IdentityFacts]:
        """The users whose location attribute (``l``) is ``location``: one paged search;
        managers among them are resolved without asking the server again."""
        wanted = self._search.user_filter(**{self._attrs.location: location})
        entries = list(self._search.paged(self.settings.user_base, wanted, self._user_attributes()))
        names = {dn.lower(): first(attributes, self._attrs.username) for dn, attributes in entries}

        def manager(entry: Entry) -> str | None:
            return names.get((first(entry[1], self._attrs.manager) or "").lower())

        return [self._facts(entry, manager(entry)) for entry in entries]

    def iter_users(self) -> Iterator[IdentityFacts]:
        """Every user under ``user_base`` (paged searches), for a full sync.

        Groups are read once and nested in memory; managers are resolved among the users.
        """
        parents = self._groups.all_parents()
        user_filter = f"(objectClass={self._attrs.user_object_class})"
        entries = list(
            self._search.paged(self.settings.user_base, user_filter, self._user_attributes())
        )
        usernames = {dn.lower(): first(attrs, self._attrs.username) for dn, attrs in entries}
        for entry in entries:
            groups = self._groups.expand(entry, parents)
            manager_dn = first(entry[1], self._attrs.manager) or ""
            yield self._mapping.facts(entry, groups, usernames.get(manager_dn.lower()))

    # -- actions ----------------------------------------------------------------------

    def reset_password(
        self, user_id: str, new_password: SecretStr, *, must_change: bool = True
    ) -> ActionResult:
        return self._actions.reset_password(user_id, new_password, must_change=must_change)

    def unlock_account(self, user_id: str) -> ActionResult:
        return self._actions.unlock_account(user_id)

    def set_enabled(self, user_id: str, enabled: bool) -> ActionResult:
        return self._actions.set_enabled(user_id, enabled)

    def add_to_group(self, user_id: str, group: str) -> ActionResult:
        return self._actions.membership("add_to_group", user_id, group, add=True)

    def remove_from_group(self, user_id: str, group: str) -> ActionResult:
        return self._actions.membership("remove_from_group", user_id, group, add=False)
