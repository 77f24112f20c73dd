"""Identity facts and support actions from an Okta org, over the Management API (v1).

``OktaDirectory`` is a ``DirectoryConnector`` and ``DirectoryActions``.  Facts name a user
by ``profile.login`` (``id`` and ``username``), so ``get_user`` accepts an Okta id, a login
or its short name (the part before ``@``) and always answers with the login.

The manager is a person too (``okta_managers``): ``profile.managerId``, else
``profile.manager``, becomes the manager's login, remembered for ``manager_ttl_seconds``;
a manager Okta does not know leaves ``manager`` empty with the reason in
``notes["manager"]``, never a raw id or a guess.
The person's type comes from ``profile.userType`` (Okta's ``employeeType`` is not a
default profile property).

Okta status to ``AccountStatus`` (the more restrictive reading where Okta is vague; an
unknown status fails closed as ``disabled``)::

    ACTIVE -> active            LOCKED_OUT -> locked        SUSPENDED -> suspended
    PASSWORD_EXPIRED, RECOVERY, PROVISIONED -> password_expired   (no usable password yet)
    STAGED, DEPROVISIONED -> disabled                         (never activated / deactivated)

The calls, with their retries, rate limits and paging, are ``okta_http``'s; the actions
(password, unlock, suspend and activate, groups, and who holds the password) are
``okta_actions``'s; the identity resolver routes a password held by AD or LDAP to the
configured LDAP source.
Neither the API token nor a new password appears in a log line, an error or a ``repr``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr

from gateway.errors import UnknownActorError
from gateway.identity.directory import ActionResult, account_facts
from gateway.identity.facts import AccountStatus, IdentityFacts, ResourceFacts
from gateway.identity.okta_actions import OktaActions
from gateway.identity.okta_http import OktaHttp, search_literal, segment
from gateway.identity.okta_managers import OktaManagers
from gateway.identity.okta_settings import (
    OktaFactor,
    OktaGroup,
    OktaSettings,
    OktaUser,
    parse_answer,
)

__all__ = ["OKTA_STATUS", "OktaDirectory", "OktaSettings"]

OKTA_STATUS: dict[str, AccountStatus] = {
    "ACTIVE": AccountStatus.ACTIVE,
    "LOCKED_OUT": AccountStatus.LOCKED,
    "SUSPENDED": AccountStatus.SUSPENDED,
    "PASSWORD_EXPIRED": AccountStatus.PASSWORD_EXPIRED,
    "RECOVERY": AccountStatus.PASSWORD_EXPIRED,
    "PROVISIONED": AccountStatus.PASSWORD_EXPIRED,
    "STAGED": AccountStatus.DISABLED,
    "DEPROVISIONED": AccountStatus.DISABLED,
}


class OktaDirectory:
    """A ``DirectoryConnector`` and ``DirectoryActions`` over one pooled ``httpx.Client``.

    ``transport`` replaces the network (tests); ``clock`` (epoch seconds) stamps
    ``read_at`` and measures ``X-Rate-Limit-Reset``; ``sleep`` performs every wait.
    """

    def __init__(
        self,
        settings: OktaSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = settings.name
        self._base = settings.base_url
        self._privileged = frozenset(settings.privileged_groups)
        self._clock = clock
        self._http = OktaHttp(settings, transport=transport, clock=clock, sleep=sleep)
        self._managers = OktaManagers(
            self._user,
            lambda name: self._http.items(
                "/api/v1/users",
                OktaUser,
                params={"search": f"profile.displayName eq {search_literal(name)}"},
            ),
            clock=clock,
            ttl_seconds=settings.manager_ttl_seconds,
        )
        self._actions = OktaActions(self.name, self._http, self._user)

    def __repr__(self) -> str:
        return f"OktaDirectory(name={self.name!r}, base_url={self._base!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OktaDirectory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- facts ----------------------------------------------------------------------------

    def _user(self, user_id: str) -> OktaUser:
        if not user_id.strip(" ."):
            raise UnknownActorError(user_id)
        path = f"/api/v1/users/{segment(user_id)}"
        answer = self._http.json(self._http.call("GET", path, user_id=user_id))
        user = parse_answer(OktaUser, answer, f"GET {path}")
        login = user.profile.login.casefold()
        if user_id.casefold() not in (user.id.casefold(), login, login.partition("@")[0]):
            raise UnknownActorError(user_id)  # e.g. "me": Okta's alias for the token's owner
        return user

    def _facts(self, user: OktaUser) -> IdentityFacts:
        login, profile = user.profile.login, user.profile
        base = f"/api/v1/users/{segment(user.id)}"
        groups = frozenset(
            group.profile.name
            for group in self._http.items(f"{base}/groups", OktaGroup, user_id=login)
        )
        factors = self._http.items(f"{base}/factors", OktaFactor, user_id=login)
        names = " ".join(part for part in (profile.firstName, profile.lastName) if part)
        manager, why = self._managers.manager_of(profile)
        return IdentityFacts(
            id=login,
            username=login,
            display_name=profile.displayName or names,
            email=profile.email,
            status=OKTA_STATUS.get(user.status, AccountStatus.DISABLED),
            groups=groups,
            department=profile.department or "",
            title=profile.title or "",
            manager=manager,
            location=profile.city or "",
            employee_type=profile.userType or "employee",
            mfa_factors=tuple(dict.fromkeys(f.factorType for f in factors if f.status == "ACTIVE")),
            privileged=bool(groups & self._privileged),
            source=self.name,
            read_at=datetime.fromtimestamp(self._clock(), tz=UTC),
            changed_at=user.lastUpdated,
            password_changed_at=user.passwordChanged,
            notes={"manager": why} if why else {},
        )

    def get_user(self, user_id: str) -> IdentityFacts:
        return self._facts(self._user(user_id))

    def get_resource(self, resource_type: str, resource_id: str) -> ResourceFacts | None:
        if resource_type != "account":
            return None
        try:
            return account_facts(self.get_user(resource_id))
        except UnknownActorError:
            return None

    def find_users(
        self, *, email: str | None = None, username: str | None = None
    ) -> list[IdentityFacts]:
        clauses = [
            f"{field} eq {search_literal(value)}"
            for field, value in (("profile.email", email), ("profile.login", username))
            if value
        ]
        if not clauses:
            return []
        wanted_email = email.casefold() if email else None
        wanted_login = username.casefold() if username else None
        found = self._http.items("/api/v1/users", OktaUser, params={"search": " or ".join(clauses)})
        return [
            self._facts(user)
            for user in list(found)
            if user.profile.login.casefold() == wanted_login
            or (user.profile.email or "").casefold() == wanted_email
        ]

    def users_at(self, location: str) -> list[IdentityFacts]:
        """The users whose ``profile.city`` is ``location``: one (paged) search."""
        search = f"profile.city eq {search_literal(location)}"
        found = self._http.items("/api/v1/users", OktaUser, params={"search": search})
        wanted = location.casefold()
        return [
            self._facts(user)
            for user in list(found)
            if (user.profile.city or "").casefold() == wanted
        ]

    # -- actions --------------------------------------------------------------------------

    def reset_password(
        self, user_id: str, new_password: SecretStr, *, must_change: bool = True
    ) -> ActionResult:
        return self._actions.reset_password(user_id, new_password, must_change=must_change)

    def unlock_account(self, user_id: str) -> ActionResult:
        return self._actions.unlock_account(user_id)

    def set_enabled(self, user_id: str, enabled: bool) -> ActionResult:
        return self._actions.set_enabled(user_id, enabled)

    def add_to_group(self, user_id: str, group: str) -> ActionResult:
        return self._actions.add_to_group(user_id, group)

    def remove_from_group(self, user_id: str, group: str) -> ActionResult:
        return self._actions.remove_from_group(user_id, group)
