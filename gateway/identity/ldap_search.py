"""Searches in an LDAP directory for ``LdapDirectory``: refusals as domain errors.

Every value from a caller that goes into a search filter is escaped; the DNs sent to the
server come from the directory itself, never from the caller.  A search the server
refuses raises ``IdentityError`` naming the base; an unknown user ``UnknownActorError``;
two entries for one username an ``IdentityError`` naming both.
"""

from __future__ import annotations

from collections.abc import Iterator

from ldap3 import BASE, SUBTREE  # type: ignore[import-untyped]
from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped]

from gateway.errors import IdentityError, UnknownActorError
from gateway.identity.ldap_connection import Entry, LdapConnection, LdapRefused, first
from gateway.identity.ldap_settings import LdapSettings

__all__ = ["LdapSearch"]


class LdapSearch:
    """Searches under the configured bases, over one ``LdapConnection``."""

    def __init__(self, settings: LdapSettings, connection: LdapConnection) -> None:
        self.settings = settings
        self._attrs = settings.attributes
        self._ldap = connection

    def search(
        self, base: str, search_filter: str, attributes: list[str], scope: str = SUBTREE
    ) -> list[Entry]:
        try:
            return self._ldap.search(base, search_filter, attributes, scope)
        except LdapRefused as refused:
            raise IdentityError(
                f"LDAP search under {base!r} refused: {refused.description}"
            ) from None

    def paged(self, base: str, search_filter: str, attributes: list[str]) -> Iterator[Entry]:
        try:
            yield from self._ldap.paged(base, search_filter, attributes)
        except LdapRefused as refused:
            raise IdentityError(
                f"LDAP paged search under {base!r} refused: {refused.description}"
            ) from None

    def user_filter(self, **values: str) -> str:
        """Users with any of the attribute ``values`` (escaped)."""
        wanted = "".join(f"({name}={escape_filter_chars(value)})" for name, value in values.items())
        return f"(&(objectClass={self._attrs.user_object_class})(|{wanted}))"

    def find_user(self, user_id: str, attributes: list[str]) -> Entry:
        """The one entry whose username is ``user_id``."""
        entries = self.search(
            self.settings.user_base,
            self.user_filter(**{self._attrs.username: user_id}),
            attributes,
        )
        if not entries:
            raise UnknownActorError(user_id)
        if len(entries) > 1:
            dns = "; ".join(sorted(dn for dn, _ in entries))
            raise IdentityError(
                f"ambiguous user {user_id!r}: {len(entries)} directory entries match: {dns}"
            )
        return entries[0]

    def username_at(self, dn: str) -> str | None:
        """The username of the user entry at ``dn`` (a manager), or ``None``."""
        try:
            found = self.search(
                dn, f"(objectClass={self._attrs.user_object_class})", [self._attrs.username], BASE
            )
        except IdentityError:
            return None  # not a DN the server accepts
        return first(found[0][1], self._attrs.username) if found else None
