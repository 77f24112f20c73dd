"""Nested group membership in an LDAP directory, within limits.

Nested groups are resolved with Active Directory's in-chain matching rule, or level by
level (one search per nesting level; also the fallback when a server does not implement
the rule) with cycle protection and the ``max_group_depth`` / ``max_groups`` limits: past
them the lookup fails with ``IdentityError`` rather than return a partial, possibly less
restrictive, membership.
"""

from __future__ import annotations

from collections.abc import Callable

from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped]

from gateway.errors import IdentityError
from gateway.identity.ldap_connection import Entry, first
from gateway.identity.ldap_search import LdapSearch
from gateway.identity.ldap_settings import LdapSettings

__all__ = ["IN_CHAIN", "LdapGroups", "Parents"]

IN_CHAIN = "1.2.840.113556.1.4.1941"
Parents = Callable[[list[str]], list[tuple[str, str]]]  # member DNs -> (group DN, name)


class LdapGroups:
    """The groups of a user entry, directly or through nested groups."""

    def __init__(self, settings: LdapSettings, search: LdapSearch, *, in_chain: bool) -> None:
        self.settings = settings
        self._attrs = settings.attributes
        self._search = search
        self.in_chain = in_chain

    def of(self, entry: Entry) -> frozenset[str]:
        """Every group of ``entry``, directly or through nested groups.

        The in-chain rule answers in one search, but a server that does not implement it
        (ldap3's mock, a directory that is not AD) silently matches nothing.  So its answer
        is checked against the direct memberships; on a mismatch the rule is given up for
        good and groups are nested level by level.
        """
        if self.in_chain:
            found = self._search.search(
                self.settings.group_base,
                f"(&(objectClass={self._attrs.group_object_class})"
                f"({self._attrs.member}:{IN_CHAIN}:={escape_filter_chars(entry[0])}))",
                [self._attrs.group_name],
            )
            self._check_size(entry, len(found))
            dns = {dn.lower() for dn, _ in found}
            if all(dn.lower() in dns for dn, _ in self._parent_groups([entry[0]])):
                name = self._attrs.group_name
                return frozenset(first(attributes, name) or dn for dn, attributes in found)
            self.in_chain = False
        return self.expand(entry, self._parent_groups)

    def _parent_groups(self, dns: list[str]) -> list[tuple[str, str]]:
        members = "".join(f"({self._attrs.member}={escape_filter_chars(dn)})" for dn in dns)
        found = self._search.search(
            self.settings.group_base,
            f"(&(objectClass={self._attrs.group_object_class})(|{members}))",
            [self._attrs.group_name],
        )
        return [(dn, first(attributes, self._attrs.group_name) or dn) for dn, attributes in found]

    def _check_size(self, entry: Entry, count: int) -> None:
        if count > self.settings.max_groups:
            raise IdentityError(
                f"groups of {entry[0]!r}: more than {self.settings.max_groups} groups "
                "(max_groups); refusing to guess a partial membership"
            )

    def expand(self, entry: Entry, parents: Parents) -> frozenset[str]:
        """Groups reachable from ``entry`` level by level; each group is visited once."""
        seen: dict[str, str] = {}
        frontier = [entry[0]]
        for _level in range(self.settings.max_group_depth + 1):
            new = {dn.lower(): (dn, name) for dn, name in parents(frontier)}
            new = {key: found for key, found in new.items() if key not in seen}
            if not new:
                return frozenset(seen.values())
            seen.update((key, name) for key, (_dn, name) in new.items())
            self._check_size(entry, len(seen))
            frontier = [dn for dn, _name in new.values()]
        raise IdentityError(
            f"groups of {entry[0]!r}: nested deeper than {self.settings.max_group_depth} "
            "levels (max_group_depth)"
        )

    def all_parents(self) -> Parents:
        """Every group read once (paged), for a full sync: member DN -> its groups."""
        name_attr, member = self._attrs.group_name, self._attrs.member
        parents: dict[str, list[tuple[str, str]]] = {}
        group_filter = f"(objectClass={self._attrs.group_object_class})"
        for dn, attributes in self._search.paged(
            self.settings.group_base, group_filter, [name_attr, member]
        ):
            name = first(attributes, name_attr) or dn
            for child in attributes.get(member.lower(), []):
                parents.setdefault(child.lower(), []).append((dn, name))
        return lambda dns: [p for dn in dns for p in parents.get(dn.lower(), [])]
