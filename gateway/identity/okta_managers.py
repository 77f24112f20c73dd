"""An Okta user's manager as a person: the manager's login, never a raw Okta id.

Okta documents ``profile.managerId`` as the manager's ``id`` (an org may fill a login) and
``profile.manager`` as the manager's ``displayName`` (some orgs put a login there).  The id
(or login) is read through the Users API; a name is tried as a login, then matched against
``profile.displayName`` and kept only when exactly one user has it.  A manager that cannot
be found is ``None`` with the reason, never a guess.  Answers (found or not) are kept for
``ttl_seconds``, at most ``max_entries`` of them; a lookup that fails (Okta unreachable)
raises and is not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

from gateway.errors import UnknownActorError
from gateway.identity.okta_settings import OktaProfile, OktaUser

__all__ = ["OktaManagers"]

Found = tuple[str | None, str | None]  # (the manager's login, why there is none)


class OktaManagers:
    """``manager_of(profile)``: the login of the profile's manager, or ``None`` and why.

    ``read_user`` reads one user by id, login or short name (``UnknownActorError`` when
    Okta has none); ``named`` lists the users a ``displayName`` search finds.
    """

    def __init__(
        self,
        read_user: Callable[[str], OktaUser],
        named: Callable[[str], Iterable[OktaUser]],
        *,
        clock: Callable[[], float],
        ttl_seconds: float,
        max_entries: int = 10_000,
    ) -> None:
        self._read_user, self._named = read_user, named
        self._clock, self._ttl, self._max = clock, ttl_seconds, max_entries
        self._kept: OrderedDict[tuple[str, str], tuple[str | None, str | None, float]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()
        self.lookups = 0  # look-ups sent to Okta, for tests and measurements

    def manager_of(self, profile: OktaProfile) -> Found:
        if profile.managerId:
            return self._remembered("managerId", profile.managerId)
        if profile.manager:
            return self._remembered("manager", profile.manager)
        return None, None

    def _remembered(self, field: str, value: str) -> Found:
        key, now = (field, value), self._clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and now - kept[2] < self._ttl:
            return kept[0], kept[1]
        login, why = self._find(field, value)
        with self._lock:
            self._kept[key] = (login, why, now)
            self._kept.move_to_end(key)
            while len(self._kept) > self._max:
                self._kept.popitem(last=False)
        return login, why

    def _find(self, field: str, value: str) -> Found:
        self.lookups += 1
        try:
            return self._read_user(value).profile.login, None
        except UnknownActorError:
            if field == "managerId":
                return None, f"no manager on record: Okta has no user {value!r} (managerId)"
        wanted = value.casefold()
        logins = sorted(
            {
                user.profile.login
                for user in self._named(value)
                if (user.profile.displayName or "").casefold() == wanted
            }
        )
        if len(logins) == 1:
            return logins[0], None
        if not logins:
            return None, f"no manager on record: no Okta user is named {value!r} (manager)"
        return None, (
            f"no manager on record: {len(logins)} Okta users are named {value!r} (manager): "
            + ", ".join(logins)
        )
