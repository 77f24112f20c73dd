"""A directory entry as identity facts: the attributes read, the account status.

Active Directory's status comes from ``userAccountControl`` (ACCOUNTDISABLE, LOCKOUT,
PASSWORD_EXPIRED) and a non-zero lock attribute (``lockoutTime`` by default); OpenLDAP's
from the configured disabled and locked attributes.  Disabled wins over locked, locked
over an expired password.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.identity.facts import AccountStatus, IdentityFacts
from gateway.identity.ldap_connection import Entry, first, integer, parse_time
from gateway.identity.ldap_settings import LdapSettings

__all__ = ["ACCOUNTDISABLE", "LOCKOUT", "PASSWORD_EXPIRED", "LdapMapping"]

ACCOUNTDISABLE, LOCKOUT, PASSWORD_EXPIRED = 0x2, 0x10, 0x800000


class LdapMapping:
    """Which attributes to read for a user, and what they say."""

    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings
        self._attrs = settings.attributes
        self._ad = settings.flavor == "active_directory"

    def user_attributes(self) -> list[str]:
        a = self._attrs
        names = [a.username, a.email, *a.display_name, *a.department, a.title, a.manager]
        names += [a.location, a.employee_type, a.changed_at, a.password_changed_at]
        names += [name for name in (a.locked, a.disabled, a.must_change) if name]
        return [*names, "userAccountControl"] if self._ad else names

    def status(self, entry: Entry) -> AccountStatus:
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

    def facts(self, entry: Entry, groups: frozenset[str], manager: str | None) -> IdentityFacts:
        a, attributes = self._attrs, entry[1]
        username = first(attributes, a.username) or entry[0]

        def text(*names: str) -> str:
            return next((v for v in (first(attributes, n) for n in names) if v), "")

        return IdentityFacts(
            id=username,
            username=username,
            display_name=text(*a.display_name),
            email=first(attributes, a.email),
            status=self.status(entry),
            groups=groups,
            department=text(*a.department),
            title=text(a.title),
            manager=manager,
            location=text(a.location),
            employee_type=text(a.employee_type) or "employee",
            privileged=bool(groups & set(self.settings.privileged_groups)),
            source=self.settings.name,
            read_at=datetime.now(UTC),
            changed_at=parse_time(first(attributes, a.changed_at)),
            password_changed_at=parse_time(first(attributes, a.password_changed_at)),
        )
