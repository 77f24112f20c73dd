"""Support actions in an Okta org for ``OktaDirectory``, each reading the user first so
that a repeat reports ``changed=False``.

- ``reset_password`` sets ``credentials.password.value`` by a partial update
  (``POST /api/v1/users/{id}``, checked against the org's password policy, no email), then
  ``lifecycle/expire_password`` when the user must change it.  Always a change.
- ``unlock_account`` calls ``lifecycle/unlock`` only for a ``LOCKED_OUT`` user.
- ``set_enabled`` suspends and unsuspends (reversible, keeps app assignments); a ``STAGED``
  or ``DEPROVISIONED`` user counts as disabled and is enabled by ``lifecycle/activate``
  without an email.  Deactivation is never done here: it deprovisions apps.
- ``add_to_group`` / ``remove_from_group`` find the group by exact ``profile.name``.

Password authority (``credentials.provider.type``): a user mastered by ``ACTIVE_DIRECTORY``
or ``LDAP`` has the password in that directory, which Okta's unlock does not reach, so
``reset_password`` and ``unlock_account`` raise ``PasswordElsewhereError`` (naming the
directory instance) before changing anything.  ``FEDERATION`` and ``SOCIAL`` users have no
password in Okta, so a reset is refused.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr

from gateway.errors import DirectoryActionError
from gateway.identity.directory import ActionResult, PasswordElsewhereError
from gateway.identity.okta_http import OktaHttp, segment
from gateway.identity.okta_settings import OktaGroup, OktaUser

__all__ = ["OktaActions"]

_DISABLED = frozenset({"SUSPENDED", "STAGED", "DEPROVISIONED"})
_ENABLE = {"SUSPENDED": "unsuspend", "STAGED": "activate", "DEPROVISIONED": "activate"}
_DONE = {"suspend": "suspended", "unsuspend": "unsuspended", "activate": "activated"}

# Who owns the password, by ``credentials.provider.type``: a directory the gateway can
# act in (as an LDAP source of this flavor), or an identity provider with no password.
_PASSWORD_DIRECTORIES = {"ACTIVE_DIRECTORY": "active_directory", "LDAP": "openldap"}
_NO_PASSWORD = frozenset({"FEDERATION", "SOCIAL"})


class OktaActions:
    """``DirectoryActions`` of the Okta source named ``source``; ``user`` reads a user."""

    def __init__(self, source: str, http: OktaHttp, user: Callable[[str], OktaUser]) -> None:
        self._source = source
        self._http = http
        self._user = user

    def _lifecycle(self, user: OktaUser, user_id: str, operation: str, **params: str) -> None:
        path = f"/api/v1/users/{segment(user.id)}/lifecycle/{operation}"
        self._http.call("POST", path, params=params or None, user_id=user_id, action=True)

    def _verify_password_here(self, user: OktaUser, action: str) -> None:
        """Raise unless Okta itself holds ``user``'s password (before any change)."""
        provider, login = user.credentials.provider, user.profile.login
        flavor = _PASSWORD_DIRECTORIES.get(provider.type)
        if flavor is not None:
            raise PasswordElsewhereError(
                action, login, source=self._source, flavor=flavor, directory=provider.name or "?"
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
        self._http.call(
            "POST",
            f"/api/v1/users/{segment(user.id)}",
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
        for group in self._http.items("/api/v1/groups", OktaGroup, params={"q": name}):
            if group.profile.name == name:
                return group.id
        raise DirectoryActionError(f"Okta has no group named {name!r}")

    def _membership(self, user_id: str, group: str) -> tuple[str, str, bool]:
        user = self._user(user_id)
        group_id = self._group_id(group)
        user_path = f"/api/v1/users/{segment(user.id)}/groups"
        groups = self._http.items(user_path, OktaGroup, user_id=user_id)
        member = any(g.id == group_id for g in groups)
        path = f"/api/v1/groups/{segment(group_id)}/users/{segment(user.id)}"
        return user.profile.login, path, member

    def add_to_group(self, user_id: str, group: str) -> ActionResult:
        login, path, member = self._membership(user_id, group)
        if member:
            return ActionResult(False, f"{login} is already in {group}")
        self._http.call("PUT", path, action=True)
        return ActionResult(True, f"added {login} to {group}")

    def remove_from_group(self, user_id: str, group: str) -> ActionResult:
        login, path, member = self._membership(user_id, group)
        if not member:
            return ActionResult(False, f"{login} is not in {group}")
        self._http.call("DELETE", path, action=True)
        return ActionResult(True, f"removed {login} from {group}")
