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

Password authority (``credentials.provider.type``): a user mastered by ``ACTIVE_DIRECTORY``
or ``LDAP`` has the password in that directory, which Okta's unlock does not reach, so
``reset_password`` and ``unlock_account`` raise ``PasswordElsewhereError`` (naming the
directory instance) before changing anything; the identity resolver routes them to the
configured LDAP source.  ``FEDERATION`` and ``SOCIAL`` users have no password in Okta, so a
reset is refused.

Okta status to ``AccountStatus`` (the more restrictive reading where Okta is vague; an
unknown status fails closed as ``disabled``)::

    ACTIVE -> active            LOCKED_OUT -> locked        SUSPENDED -> suspended
    PASSWORD_EXPIRED, RECOVERY, PROVISIONED -> password_expired   (no usable password yet)
    STAGED, DEPROVISIONED -> disabled                         (never activated / deactivated)

Actions, each reading the user first so that a repeat reports ``changed=False``:

- ``reset_password`` sets ``credentials.password.value`` by a partial update
  (``POST /api/v1/users/{id}``, checked against the org's password policy, no email), then
  ``lifecycle/expire_password`` when the user must change it.  Always a change.
- ``unlock_account`` calls ``lifecycle/unlock`` only for a ``LOCKED_OUT`` user.
- ``set_enabled`` suspends and unsuspends (reversible, keeps app assignments); a ``STAGED``
  or ``DEPROVISIONED`` user counts as disabled and is enabled by ``lifecycle/activate``
  without an email.  Deactivation is never done here: it deprovisions apps.
- ``add_to_group`` / ``remove_from_group`` find the group by exact ``profile.name``.

Transport (``gateway.http``): HTTP 429 waits until ``X-Rate-Limit-Reset`` and 5xx backs off
exponentially, each wait capped by ``max_wait_seconds``, for at most ``max_retries`` extra
attempts (a retried write repeats the same change).  Connection failures and timeouts are
not retried.
Neither the API token nor a new password appears in a log line, an error or a ``repr``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from gateway.errors import (
    DirectoryActionError,
    DirectoryUnavailableError,
    IdentityError,
    UnknownActorError,
)
from gateway.http import Failure, RetryingClient, RetryPolicy, map_failure, open_client, redact
from gateway.identity.directory import ActionResult, PasswordElsewhereError, account_facts
from gateway.identity.facts import AccountStatus, IdentityFacts, ResourceFacts
from gateway.identity.okta_managers import OktaManagers
from gateway.identity.okta_settings import (
    OktaErrorObject,
    OktaFactor,
    OktaGroup,
    OktaObject,
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
_DISABLED = frozenset({"SUSPENDED", "STAGED", "DEPROVISIONED"})
_ENABLE = {"SUSPENDED": "unsuspend", "STAGED": "activate", "DEPROVISIONED": "activate"}
_DONE = {"suspend": "suspended", "unsuspend": "unsuspended", "activate": "activated"}

# Who owns the password, by ``credentials.provider.type``: a directory the gateway can
# act in (as an LDAP source of this flavor), or an identity provider with no password.
_PASSWORD_DIRECTORIES = {"ACTIVE_DIRECTORY": "active_directory", "LDAP": "openldap"}
_NO_PASSWORD = frozenset({"FEDERATION", "SOCIAL"})

_M = TypeVar("_M", bound=OktaObject)


def _segment(value: str) -> str:
    """``value`` as one URL path segment, whatever it holds (``/``, ``?``, lone surrogates)."""
    return quote(value, safe="", errors="backslashreplace")


def _search_literal(value: str) -> str:
    """A value as a quoted string of Okta's (SCIM) search syntax: JSON string escaping, with
    lone surrogates escaped too so that the expression is always valid UTF-8."""
    literal = json.dumps(value, ensure_ascii=False)
    return re.sub("[\ud800-\udfff]", lambda char: f"\\u{ord(char[0]):04x}", literal)


def _error_text(response: httpx.Response) -> str:
    """``HTTP 404 E0000007: Not found: ...`` from Okta's error object."""
    try:
        error = OktaErrorObject.model_validate(response.json())
    except ValueError:
        return f"HTTP {response.status_code} (no Okta error object)"
    causes = "; ".join(cause.errorSummary for cause in error.errorCauses if cause.errorSummary)
    text = f"HTTP {response.status_code} {error.errorCode}: {error.errorSummary}"
    return f"{text} ({causes})" if causes else text


def _rate_limit_reset(response: httpx.Response, now: datetime) -> float | None:
    """Okta's rate limits say when they reset (``X-Rate-Limit-Reset``, epoch seconds)."""
    if response.status_code != 429:
        return None
    try:
        return float(response.headers.get("X-Rate-Limit-Reset", "")) - now.timestamp()
    except ValueError:
        return None


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
        self._settings = settings
        self._base = settings.base_url
        self._privileged = frozenset(settings.privileged_groups)
        self._clock = clock
        self._managers = OktaManagers(
            self._user,
            lambda name: self._items(
                "/api/v1/users",
                OktaUser,
                params={"search": f"profile.displayName eq {_search_literal(name)}"},
            ),
            clock=clock,
            ttl_seconds=settings.manager_ttl_seconds,
        )
        policy = RetryPolicy(
            max_retries=settings.max_retries,
            backoff_seconds=settings.backoff_seconds,
            max_wait_seconds=settings.max_wait_seconds,
            retry_transport_errors=False,
        )
        client = open_client(
            base_url=settings.base_url,
            timeout=settings.timeout_seconds,
            token=settings.secret("token"),
            scheme="SSWS",
            transport=transport,
        )
        self._http = RetryingClient(
            client,
            name="okta",
            policy=policy,
            unavailable=lambda failure: map_failure(
                failure, DirectoryUnavailableError, self._unavailable_message
            ),
            sleep=sleep,
            clock=lambda: datetime.fromtimestamp(clock(), tz=UTC),
            hint=_rate_limit_reset,
        )

    def __repr__(self) -> str:
        return f"OktaDirectory(name={self.name!r}, base_url={self._base!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OktaDirectory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- HTTP -----------------------------------------------------------------------------

    def _unavailable_message(self, failure: Failure) -> str:
        method, url = failure.method, failure.url
        if failure.timed_out:
            return (
                f"Okta at {self._base}: no answer to {method} {url} "
                f"within {self._settings.timeout_seconds:g}s"
            )
        if failure.response is None:
            return (
                f"Okta at {self._base} cannot be reached: {method} {url}: "
                f"{failure.error_name}: {failure.detail}"
            )
        where = f"Okta at {self._base}: {method} {url}"
        attempts = f"gave up after {failure.attempts} attempts"
        if failure.rate_limited:
            headers = failure.response.headers
            return (
                f"{where}: rate limited (HTTP 429, X-Rate-Limit-Limit "
                f"{headers.get('X-Rate-Limit-Limit', '?')}, X-Rate-Limit-Remaining "
                f"{headers.get('X-Rate-Limit-Remaining', '?')}); {attempts}"
            )
        return f"{where}: {_error_text(failure.response)}; {attempts}"

    def _call(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        user_id: str | None = None,
        action: bool = False,
        secret: str | None = None,
    ) -> httpx.Response:
        """One request; an Okta error becomes ``UnknownActorError`` (404 on a user named by
        ``user_id``), ``IdentityError`` (bad token, or a refused read) or
        ``DirectoryActionError`` (a refused ``action``)."""
        secrets = (secret,) if secret else ()
        response = self._http.request(method, url, params=params, json=body, secrets=secrets)
        if response.is_success:
            return response
        if response.status_code == 404 and user_id is not None:
            raise UnknownActorError(user_id)
        error = redact(_error_text(response), secrets)
        if response.status_code == 401:
            raise IdentityError(f"Okta at {self._base} rejected the API token: {error}")
        kind = DirectoryActionError if action else IdentityError
        raise kind(f"Okta {method} {url}: {error}")

    def _json(self, response: httpx.Response) -> object:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            request = response.request
            raise IdentityError(
                f"Okta {request.method} {request.url.path}: expected JSON, found {kind}"
            ) from None

    def _items(
        self,
        path: str,
        model: type[_M],
        *,
        params: dict[str, str] | None = None,
        user_id: str | None = None,
    ) -> Iterator[_M]:
        """Every item of a list endpoint, following ``Link: <...>; rel="next"``."""
        url = path
        query: dict[str, str] | None = {**(params or {}), "limit": str(self._settings.page_size)}
        while True:
            response = self._call("GET", url, params=query, user_id=user_id)
            data = self._json(response)
            if not isinstance(data, list):
                raise IdentityError(
                    f"Okta GET {path}: expected a list, found {type(data).__name__}"
                )
            for item in data:
                yield parse_answer(model, item, f"GET {path}")
            next_url = response.links.get("next", {}).get("url")
            if not next_url:
                return
            if not next_url.startswith(f"{self._base}/"):
                raise IdentityError(
                    f"Okta GET {path}: refusing a next page outside {self._base}: {next_url}"
                )
            url, query = next_url, None

    # -- facts ----------------------------------------------------------------------------

    def _user(self, user_id: str) -> OktaUser:
        if not user_id.strip(" ."):
            raise UnknownActorError(user_id)
        path = f"/api/v1/users/{_segment(user_id)}"
        user = parse_answer(
            OktaUser, self._json(self._call("GET", path, user_id=user_id)), f"GET {path}"
        )
        login = user.profile.login.casefold()
        if user_id.casefold() not in (user.id.casefold(), login, login.partition("@")[0]):
            raise UnknownActorError(user_id)  # e.g. "me": Okta's alias for the token's owner
        return user

    def _facts(self, user: OktaUser) -> IdentityFacts:
        login, profile = user.profile.login, user.profile
        base = f"/api/v1/users/{_segment(user.id)}"
        groups = frozenset(
            group.profile.name for group in self._items(f"{base}/groups", OktaGroup, user_id=login)
        )
        factors = self._items(f"{base}/factors", OktaFactor, user_id=login)
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
            f"{field} eq {_search_literal(value)}"
            for field, value in (("profile.email", email), ("profile.login", username))
            if value
        ]
        if not clauses:
            return []
        wanted_email = email.casefold() if email else None
        wanted_login = username.casefold() if username else None
        found = self._items("/api/v1/users", OktaUser, params={"search": " or ".join(clauses)})
        return [
            self._facts(user)
            for user in list(found)
            if user.profile.login.casefold() == wanted_login
            or (user.profile.email or "").casefold() == wanted_email
        ]

    def users_at(self, location: str) -> list[IdentityFacts]:
        """The users whose ``profile.city`` is ``location``: one (paged) search."""
        search = f"profile.city eq {_search_literal(location)}"
        found = self._items("/api/v1/users", OktaUser, params={"search": search})
        wanted = location.casefold()
        return [
            self._facts(user)
            for user in list(found)
            if (user.profile.city or "").casefold() == wanted
        ]

    # -- actions --------------------------------------------------------------------------

    def _lifecycle(self, user: OktaUser, user_id: str, operation: str, **params: str) -> None:
        path = f"/api/v1/users/{_segment(user.id)}/lifecycle/{operation}"
        self._call("POST", path, params=params or None, user_id=user_id, action=True)

    def _verify_password_here(self, user: OktaUser, action: str) -> None:
        """Raise unless Okta itself holds ``user``'s password (before any change)."""
        provider, login = user.credentials.provider, user.profile.login
        flavor = _PASSWORD_DIRECTORIES.get(provider.type)
        if flavor is not None:
            raise PasswordElsewhereError(
                action, login, source=self.name, flavor=flavor, directory=provider.name or "?"
            )
        if provider.type in _NO_PASSWORD and action == "reset_password":
            raise DirectoryActionError(
                f"{action} {login!r}: {login} signs in through a {provider.type} identity "
                f"provider ({provider.name or '?'}); Okta holds no password for this user"
            )

    def reset_password(
        self, user_id: str, new_password: SecretStr, *, must_change: bool = True
    ) -> ActionResult:
        user = self._user(user_id)
        self._verify_password_here(user, "reset_password")
        secret = new_password.get_secret_value()
        self._call(
            "POST",
            f"/api/v1/users/{_segment(user.id)}",
            body={"credentials": {"password": {"value": secret}}},
            user_id=user_id,
            action=True,
            secret=secret,
        )
        login = user.profile.login
        if not must_change:
            return ActionResult(True, f"password set for {login}")
        self._lifecycle(user, user_id, "expire_password", tempPassword="false")
        return ActionResult(True, f"password set for {login}; must change it at next sign-in")

    def unlock_account(self, user_id: str) -> ActionResult:
        user = self._user(user_id)
        self._verify_password_here(user, "unlock_account")
        login = user.profile.login
        if user.status != "LOCKED_OUT":
            return ActionResult(False, f"{login} is not locked out (Okta status {user.status})")
        self._lifecycle(user, user_id, "unlock")
        return ActionResult(True, f"unlocked {login}")

    def set_enabled(self, user_id: str, enabled: bool) -> ActionResult:
        user = self._user(user_id)
        login, status = user.profile.login, user.status
        if enabled and status not in _ENABLE:
            return ActionResult(False, f"{login} is already enabled (Okta status {status})")
        if not enabled and status in _DISABLED:
            return ActionResult(False, f"{login} is already disabled (Okta status {status})")
        operation = _ENABLE[status] if enabled else "suspend"
        extra = {"sendEmail": "false"} if operation == "activate" else {}
        self._lifecycle(user, user_id, operation, **extra)
        return ActionResult(True, f"{_DONE[operation]} {login} (was {status})")

    def _group_id(self, name: str) -> str:
        for group in self._items("/api/v1/groups", OktaGroup, params={"q": name}):
            if group.profile.name == name:
                return group.id
        raise DirectoryActionError(f"Okta has no group named {name!r}")

    def _membership(self, user_id: str, group: str) -> tuple[str, str, bool]:
        user = self._user(user_id)
        group_id = self._group_id(group)
        user_path = f"/api/v1/users/{_segment(user.id)}/groups"
        member = any(g.id == group_id for g in self._items(user_path, OktaGroup, user_id=user_id))
        path = f"/api/v1/groups/{_segment(group_id)}/users/{_segment(user.id)}"
        return user.profile.login, path, member

    def add_to_group(self, user_id: str, group: str) -> ActionResult:
        login, path, member = self._membership(user_id, group)
        if member:
            return ActionResult(False, f"{login} is already in {group}")
        self._call("PUT", path, action=True)
        return ActionResult(True, f"added {login} to {group}")

    def remove_from_group(self, user_id: str, group: str) -> ActionResult:
        login, path, member = self._membership(user_id, group)
        if not member:
            return ActionResult(False, f"{login} is not in {group}")
        self._call("DELETE", path, action=True)
        return ActionResult(True, f"removed {login} from {group}")
