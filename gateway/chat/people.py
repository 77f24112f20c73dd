"""Who a chat user is in the directory: a configured mapping first, then the e-mail the
platform vouches for, matched to exactly one active directory person.  Anyone else is
refused (``unmapped_user``): a chat identity never becomes a person by a guess."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from gateway.chat.errors import ChatRefusedError
from gateway.errors import GatewayError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.facts import AccountStatus

__all__ = ["PersonMap"]

EmailOf = Callable[[str], str | None]


class PersonMap:
    """``person(platform_user)``: the directory id; answers by e-mail kept ``ttl`` s."""

    def __init__(
        self,
        platform: str,
        directory: DirectoryConnector,
        mapping: Mapping[str, str],
        email_of: EmailOf | None,
        *,
        ttl: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._platform = platform
        self._directory = directory
        self._mapping = dict(mapping)
        self._email_of = email_of
        self._ttl = ttl
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def _refuse(self, user: str, why: str) -> ChatRefusedError:
        return ChatRefusedError(
            "unmapped_user", f"{self._platform} user {user[:64]} {why}", status=403
        )

    def person(self, user: str) -> str:
        mapped = self._mapping.get(user)
        if mapped is not None:
            return mapped
        with self._lock:
            cached = self._cache.get(user)
        if cached is not None and cached[0] > self._monotonic():
            return cached[1]
        if self._email_of is None:
            raise self._refuse(user, "is not mapped to a directory person")
        try:
            email = self._email_of(user)
        except GatewayError as exc:
            raise ChatRefusedError(
                "unmapped_user",
                f"{self._platform} user {user[:64]} cannot be looked up: {exc}",
                status=503,
            ) from exc
        if email is None:
            raise self._refuse(user, "has no confirmed e-mail address")
        found = [
            p for p in self._directory.find_users(email=email) if p.status is AccountStatus.ACTIVE
        ]
        if len(found) != 1:
            raise self._refuse(user, f"matches {len(found)} active directory people by e-mail")
        with self._lock:
            self._cache[user] = (self._monotonic() + self._ttl, found[0].id)
        return found[0].id
