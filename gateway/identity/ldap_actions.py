"""Support actions in an LDAP directory: password reset, unlock, enable/disable, groups.

Each action reads the user first, so that a repeat reports ``changed=False``; a change the
server reports as already made (``noSuchAttribute``, ``attributeOrValueExists``: a race)
counts as not changed.  A refused change raises ``DirectoryActionError``, which never
carries the password.

Active Directory takes a new password only as ``unicodePwd`` (quoted, UTF-16LE) over an
encrypted connection, with ``pwdLastSet`` 0 (must change) or -1; OpenLDAP through the
password modify extended operation, with the configured must-change attribute.
"""

from __future__ import annotations

from typing import Any

from ldap3 import BASE, MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE  # type: ignore[import-untyped]
from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped]
from pydantic import SecretStr

from gateway.errors import DirectoryActionError
from gateway.identity.directory import ActionResult
from gateway.identity.ldap_connection import (
    Entry,
    LdapConnection,
    LdapRefused,
    check,
    first,
    integer,
)
from gateway.identity.ldap_mapping import ACCOUNTDISABLE
from gateway.identity.ldap_search import LdapSearch
from gateway.identity.ldap_settings import LdapSettings

__all__ = ["ALREADY_SO", "LdapActions"]

ALREADY_SO = {16, 20}  # noSuchAttribute, attributeOrValueExists: a race made it so already


class LdapActions:
    """``DirectoryActions`` over one ``LdapConnection``; ``user_attributes`` are read with
    the user."""

    def __init__(
        self,
        settings: LdapSettings,
        connection: LdapConnection,
        search: LdapSearch,
        user_attributes: list[str],
    ) -> None:
        self.settings = settings
        self._attrs = settings.attributes
        self._ad = settings.flavor == "active_directory"
        self._ldap = connection
        self._search = search
        self._user_attributes = user_attributes

    def _find_user(self, user_id: str) -> Entry:
        return self._search.find_user(user_id, self._user_attributes)

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
        found = self._search.search(
            self.settings.group_base,
            f"(&(objectClass={self._attrs.group_object_class})"
            f"({self._attrs.group_name}={escape_filter_chars(group)}))",
            [self._attrs.group_name],
        )
        if len(found) != 1:
            problem = "no such group" if not found else f"{len(found)} groups have this name"
            raise DirectoryActionError(f"{action}: group {group!r}: {problem}")
        return found[0][0]

    def membership(self, action: str, user_id: str, group: str, add: bool) -> ActionResult:
        """Add ``user_id`` to ``group`` (or remove it) unless it already is (is not)."""
        user_dn = self._find_user(user_id)[0]
        group_dn = self._group_dn(action, group)
        member = self._attrs.member
        is_member = bool(
            self._search.search(
                group_dn, f"({member}={escape_filter_chars(user_dn)})", ["1.1"], BASE
            )
        )
        change = {member: [(MODIFY_ADD if add else MODIFY_DELETE, [user_dn])]}
        if is_member == add or not self._modify(action, user_id, group_dn, change):
            return ActionResult(False, f"{'already' if add else 'not'} a member of {group}")
        return ActionResult(True, f"{'added to' if add else 'removed from'} {group}")
