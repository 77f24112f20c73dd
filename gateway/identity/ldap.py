"""The LDAP identity source: OpenLDAP and Active Directory through ldap3.

Every value from a caller that goes into a search filter is escaped; the DNs sent to the
server come from the directory itself, never from the caller.  Nested groups are resolved
with Active Directory's in-chain matching rule, or level by level (one search per nesting
level; also the fallback when a server rejects the rule) with cycle protection and the
``max_group_depth`` / ``max_groups`` limits: past them the lookup fails rather than
return a partial, possibly less restrictive, membership.

Errors: an unreachable server or refused bind raises ``DirectoryUnavailableError``
naming the servers; an unknown user ``UnknownActorError``; two entries for one username
or a malformed attribute an ``IdentityError``; a refused change ``DirectoryActionError``.
None of them, nor ``repr``, ever carries a password.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from ldap3 import (  # type: ignore[import-untyped]
    BASE,
    MODIFY_ADD,
    MODIFY_DELETE,
    MODIFY_REPLACE,
    SUBTREE,
    SYNC,
)
from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped]
from pydantic import SecretStr

from gateway.errors import (
    DirectoryActionError,
    IdentityError,
    UnknownActorError,
)
from gateway.identity.directory import ActionResult, account_facts
from gateway.identity.facts import AccountStatus, IdentityFacts, ResourceFacts
from gateway.identity.ldap_connection import (
    Entry,
    LdapConnection,
    LdapRefused,
    check,
    first,
    integer,
    parse_time,
)
from gateway.identity.ldap_settings import LdapSettings

__all__ = ["LdapDirectory"]

ACCOUNTDISABLE, LOCKOUT, PASSWORD_EXPIRED = 0x2, 0x10, 0x800000
IN_CHAIN = "1.2.840.113556.1.4.1941"
ALREADY_SO = {16, 20}  # noSuchAttribute, attributeOrValueExists: a race made it so already


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
        self._ad = settings.flavor == "active_directory"
        nesting = settings.nested_groups or ("in_chain" if self._ad else "iterative")
        self._in_chain = nesting == "in_chain"
        self._ldap = LdapConnection(settings, server, client_strategy)

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
        a = self._attrs
        names = [a.username, a.email, *a.display_name, *a.department, a.title, a.manager]
        names += [a.location, a.employee_type, a.changed_at, a.password_changed_at]
        names += [name for name in (a.locked, a.disabled, a.must_change) if name]
        return [*names, "userAccountControl"] if self._ad else names

    def _search(
        self, base: str, search_filter: str, attributes: list[str], scope: str = SUBTREE
    ) -> list[Entry]:
        try:
            return self._ldap.search(base, search_filter, attributes, scope)
        except LdapRefused as refused:
            raise IdentityError(
                f"LDAP search under {base!r} refused: {refused.description}"
            ) from None

    def _paged(self, base: str, search_filter: str, attributes: list[str]) -> Iterator[Entry]:
        try:
            yield from self._ldap.paged(base, search_filter, attributes)
        except LdapRefused as refused:
            raise IdentityError(
                f"LDAP paged search under {base!r} refused: {refused.description}"
            ) from None

    def _user_filter(self, **values: str) -> str:
        wanted = "".join(f"({name}={escape_filter_chars(value)})" for name, value in values.items())
        return f"(&(objectClass={self._attrs.user_object_class})(|{wanted}))"

    def _find_user(self, user_id: str) -> Entry:
        entries = self._search(
            self.settings.user_base,
            self._user_filter(**{self._attrs.username: user_id}),
            self._user_attributes(),
        )
        if not entries:
            raise UnknownActorError(user_id)
        if len(entries) > 1:
            dns = "; ".join(sorted(dn for dn, _ in entries))
            raise IdentityError(
                f"ambiguous user {user_id!r}: {len(entries)} directory entries match: {dns}"
            )
        return entries[0]

    def get_user(self, user_id: str) -> IdentityFacts:
        entry = self._find_user(user_id)
        return self._facts(entry, self._groups(entry), self._manager(entry))

    def find_users(
        self, *, email: str | None = None, username: str | None = None
    ) -> list[IdentityFacts]:
        wanted = {self._attrs.username: username, self._attrs.email: email}
        values = {name: value for name, value in wanted.items() if value is not None}
        if not values:
            return []
        entries = self._search(
            self.settings.user_base, self._user_filter(**values), self._user_attributes()
        )
        return [self._facts(e, self._groups(e), self._manager(e)) for e in entries]

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
        wanted = self._user_filter(**{self._attrs.location: location})
        entries = list(self._paged(self.settings.user_base, wanted, self._user_attributes()))
        names = {dn.lower(): first(attributes, self._attrs.username) for dn, attributes in entries}

        def manager(entry: Entry) -> str | None:
            known = names.get((first(entry[1], self._attrs.manager) or "").lower())
            return known or self._manager(entry)

        return [self._facts(entry, self._groups(entry), manager(entry)) for entry in entries]

    def iter_users(self) -> Iterator[IdentityFacts]:
        """Every user under ``user_base`` (paged searches), for a full sync.

        Groups are read once and nested in memory; managers are resolved among the users.
        """
        name_attr, member = self._attrs.group_name, self._attrs.member
        parents: dict[str, list[tuple[str, str]]] = {}
        group_filter = f"(objectClass={self._attrs.group_object_class})"
        for dn, attributes in self._paged(
            self.settings.group_base, group_filter, [name_attr, member]
        ):
            name = first(attributes, name_attr) or dn
            for child in attributes.get(member.lower(), []):
                parents.setdefault(child.lower(), []).append((dn, name))
        user_filter = f"(objectClass={self._attrs.user_object_class})"
        entries = list(self._paged(self.settings.user_base, user_filter, self._user_attributes()))
        usernames = {dn.lower(): first(attrs, self._attrs.username) for dn, attrs in entries}
        for entry in entries:
            groups = self._expand(
                entry, lambda dns: [p for dn in dns for p in parents.get(dn.lower(), [])]
            )
            manager_dn = first(entry[1], self._attrs.manager) or ""
            yield self._facts(entry, groups, usernames.get(manager_dn.lower()))

    def _groups(self, entry: Entry) -> frozenset[str]:
        """Every group of ``entry``, directly or through nested groups.

        The in-chain rule answers in one search, but a server that does not implement it
        (ldap3's mock, a directory that is not AD) silently matches nothing.  So its answer
        is checked against the direct memberships; on a mismatch the rule is given up for
        good and groups are nested level by level.
        """
        if self._in_chain:
            found = self._search(
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
            self._in_chain = False
        return self._expand(entry, self._parent_groups)

    def _parent_groups(self, dns: list[str]) -> list[tuple[str, str]]:
        members = "".join(f"({self._attrs.member}={escape_filter_chars(dn)})" for dn in dns)
        found = self._search(
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

    def _expand(
        self, entry: Entry, parents: Callable[[list[str]], list[tuple[str, str]]]
    ) -> frozenset[str]:
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

    def _manager(self, entry: Entry) -> str | None:
        manager_dn = first(entry[1], self._attrs.manager)
        if manager_dn is None:
            return None
        try:
            found = self._search(
                manager_dn,
                f"(objectClass={self._attrs.user_object_class})",
                [self._attrs.username],
                BASE,
            )
        except IdentityError:
            return None  # not a DN the server accepts
        return first(found[0][1], self._attrs.username) if found else None

    def _status(self, entry: Entry) -> AccountStatus:
        a, attributes = self._attrs, entry[1]
        if self._ad:
            flags = integer(entry, "userAccountControl")
            locked = flags & LOCKOUT or integer(entry, a.locked or "lockoutTime") > 0
            if flags & ACCOUNTDISABLE:
                return AccountStatus.DISABLED
            if locked:
                return AccountStatus.LOCKED
            if flags & PASSWORD_EXPIRED:
                return AccountStatus.PASSWORD_EXPIRED
            return AccountStatus.ACTIVE
        if a.disabled and first(attributes, a.disabled) == a.disabled_value:
            return AccountStatus.DISABLED
        if first(attributes, a.locked):
            return AccountStatus.LOCKED
        return AccountStatus.ACTIVE

    def _facts(self, entry: Entry, groups: frozenset[str], manager: str | None) -> IdentityFacts:
        a, attributes = self._attrs, entry[1]
        username = first(attributes, a.username) or entry[0]

        def text(*names: str) -> str:
            return next((v for v in (first(attributes, n) for n in names) if v), "")

        return IdentityFacts(
            id=username,
            username=username,
            display_name=text(*a.display_name),
            email=first(attributes, a.email),
            status=self._status(entry),
            groups=groups,
            department=text(*a.department),
            title=text(a.title),
            manager=manager,
            location=text(a.location),
            employee_type=text(a.employee_type) or "employee",
            privileged=bool(groups & set(self.settings.privileged_groups)),
            source=self.name,
            read_at=datetime.now(UTC),
            changed_at=parse_time(first(attributes, a.changed_at)),
            password_changed_at=parse_time(first(attributes, a.password_changed_at)),
        )

    # -- actions ----------------------------------------------------------------------

    def _modify(self, action: str, user_id: str, dn: str, changes: dict[str, Any]) -> bool:
        """Apply ``changes``; ``False`` when the server says it was already so."""

        try:
            self._ldap.modify(dn, changes)
        except LdapRefused as refused:
            if refused.code in ALREADY_SO:
                return False
            raise DirectoryActionError(
                f"{action} {user_id!r}: the directory refused: {refused.description}"
            ) from None
        return True

    def reset_password(
        self, user_id: str, new_password: SecretStr, *, must_change: bool = True
    ) -> ActionResult:
        dn, attributes = self._find_user(user_id)
        secret = new_password.get_secret_value()
        if self._ad:
            quoted = f'"{secret}"'.encode("utf-16-le")
            flag = "0" if must_change else "-1"
            changes: dict[str, Any] = {
                "unicodePwd": [(MODIFY_REPLACE, [quoted])],
                "pwdLastSet": [(MODIFY_REPLACE, [flag])],
            }

            def reset(connection: Any) -> None:
                if not (connection.server.ssl or connection.tls_started):
                    raise DirectoryActionError(
                        f"reset_password {user_id!r}: Active Directory accepts a new password "
                        "only over an encrypted connection (ldaps:// or start_tls)"
                    )
                check(connection, connection.modify(dn, changes))
        else:

            def reset(connection: Any) -> None:
                done = connection.extend.standard.modify_password(dn, new_password=secret)
                check(connection, done)

        try:
            self._ldap.run(reset)
        except LdapRefused as refused:
            raise DirectoryActionError(
                f"reset_password {user_id!r}: the directory refused: {refused.description}"
            ) from None
        flag_attribute = self._attrs.must_change
        if flag_attribute and not self._ad:
            if must_change:
                self._modify(
                    "reset_password", user_id, dn, {flag_attribute: [(MODIFY_REPLACE, ["TRUE"])]}
                )
            elif first(attributes, flag_attribute):
                self._modify("reset_password", user_id, dn, {flag_attribute: [(MODIFY_DELETE, [])]})
        return ActionResult(
            True, "password reset" + ("; must change at next logon" if must_change else "")
        )

    def unlock_account(self, user_id: str) -> ActionResult:
        entry = self._find_user(user_id)
        attribute = self._attrs.locked
        if attribute is None:
            raise DirectoryActionError(f"unlock_account {user_id!r}: no lock attribute configured")
        if self._ad:
            locked = integer(entry, attribute) > 0
            change = [(MODIFY_REPLACE, ["0"])]
        else:
            locked = first(entry[1], attribute) is not None
            change = [(MODIFY_DELETE, [])]
        if not locked or not self._modify("unlock_account", user_id, entry[0], {attribute: change}):
            return ActionResult(False, "account was not locked")
        return ActionResult(True, "account unlocked")

    def set_enabled(self, user_id: str, enabled: bool) -> ActionResult:
        entry = self._find_user(user_id)
        verb = "enabled" if enabled else "disabled"
        if self._ad:
            flags = integer(entry, "userAccountControl")
            wanted = flags & ~ACCOUNTDISABLE if enabled else flags | ACCOUNTDISABLE
            attribute, change = "userAccountControl", [(MODIFY_REPLACE, [str(wanted)])]
            already = wanted == flags
        else:
            attribute = self._attrs.disabled or ""
            if not attribute:
                raise DirectoryActionError(
                    f"set_enabled {user_id!r}: no disabled attribute configured"
                )
            value = self._attrs.disabled_value
            disabled = first(entry[1], attribute) == value
            already = disabled != enabled
            change = [(MODIFY_DELETE, []) if enabled else (MODIFY_REPLACE, [value])]
        if already or not self._modify("set_enabled", user_id, entry[0], {attribute: change}):
            return ActionResult(False, f"account was already {verb}")
        return ActionResult(True, f"account {verb}")

    def _group_dn(self, action: str, group: str) -> str:
        found = self._search(
            self.settings.group_base,
            f"(&(objectClass={self._attrs.group_object_class})"
            f"({self._attrs.group_name}={escape_filter_chars(group)}))",
            [self._attrs.group_name],
        )
        if len(found) != 1:
            problem = "no such group" if not found else f"{len(found)} groups have this name"
            raise DirectoryActionError(f"{action}: group {group!r}: {problem}")
        return found[0][0]

    def _membership(self, action: str, user_id: str, group: str, add: bool) -> ActionResult:
        user_dn = self._find_user(user_id)[0]
        group_dn = self._group_dn(action, group)
        member = self._attrs.member
        is_member = bool(
            self._search(group_dn, f"({member}={escape_filter_chars(user_dn)})", ["1.1"], BASE)
        )
        change = {member: [(MODIFY_ADD if add else MODIFY_DELETE, [user_dn])]}
        if is_member == add or not self._modify(action, user_id, group_dn, change):
            return ActionResult(False, f"{'already' if add else 'not'} a member of {group}")
        return ActionResult(True, f"{'added to' if add else 'removed from'} {group}")

    def add_to_group(self, user_id: str, group: str) -> ActionResult:
        return self._membership("add_to_group", user_id, group, add=True)

    def remove_from_group(self, user_id: str, group: str) -> ActionResult:
        return self._membership("remove_from_group", user_id, group, add=False)
