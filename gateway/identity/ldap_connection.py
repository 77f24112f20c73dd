"""Connections to an LDAP server for ``LdapDirectory``: a small pool, failover, reconnect.

A connection that fails is dropped and the operation retried once on a fresh one, so the
directory works again as soon as a server answers.  Network and bind failures become
``DirectoryUnavailableError`` naming the servers, never the bind password; other
non-success results become ``LdapRefused`` for the caller to turn into a domain error.
Entries come back as ``(dn, {lower-cased attribute: [text values]})``.
"""

from __future__ import annotations

import re
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from ldap3 import (  # type: ignore[import-untyped]
    FIRST,
    NONE,
    SUBTREE,
    Connection,
    Server,
    ServerPool,
    Tls,
)
from ldap3.core.exceptions import (  # type: ignore[import-untyped]
    LDAPBindError,
    LDAPDefinitionError,
    LDAPException,
    LDAPInvalidDnError,
    LDAPInvalidFilterError,
)

from gateway.errors import DirectoryUnavailableError, IdentityError
from gateway.identity.ldap_settings import LdapSettings

__all__ = [
    "CLIENT_REFUSED",
    "Entry",
    "LdapConnection",
    "LdapRefused",
    "check",
    "first",
    "integer",
    "parse_time",
]

T = TypeVar("T")
Entry = tuple[str, dict[str, list[str]]]
PAGED_RESULTS = "1.2.840.113556.1.4.319"
NO_SUCH_OBJECT = 32
CLIENT_REFUSED = -1  # ldap3 itself refused the request (a malformed DN or filter)
CLIENT_SIDE = (LDAPDefinitionError, LDAPInvalidDnError, LDAPInvalidFilterError)
GENERALIZED_TIME = re.compile(r"(\d{14})(?:[.,]\d+)?(Z|[+-]\d{4})?")
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


class LdapRefused(Exception):
    """A non-success LDAP result (the caller turns it into a domain error)."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.code = int(result.get("result", -1))
        self.description = str(result.get("description", "error"))
        super().__init__(self.description)


def first(attributes: dict[str, list[str]], name: str | None) -> str | None:
    """The first value of an attribute, or ``None`` when it is absent."""
    values = attributes.get(name.lower(), []) if name else []
    return values[0] if values else None


def integer(entry: Entry, name: str) -> int:
    """An integer attribute (absent: 0); any other value is a clear error, not a guess."""
    value = first(entry[1], name) or "0"
    try:
        return int(value)
    except ValueError:
        raise IdentityError(
            f"directory entry {entry[0]!r}: {name}: expected an integer, found {value!r}"
        ) from None


def parse_time(value: str | None) -> datetime | None:
    """A generalized time (``20240101120000Z``) or a Windows file time, else ``None``."""
    match = GENERALIZED_TIME.fullmatch(value or "")
    try:
        if match is not None:
            stamp, zone = match.groups()
            zone = (zone or "Z").replace("Z", "+0000")
            return datetime.strptime(stamp + zone, "%Y%m%d%H%M%S%z").astimezone(UTC)
        if value and value.isdigit() and int(value) > 0:
            return FILETIME_EPOCH + timedelta(microseconds=int(value) // 10)
    except (ValueError, OverflowError):
        pass  # an impossible date: provenance only, so unknown rather than an error
    return None


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _entries(response: Iterable[dict[str, Any]]) -> list[Entry]:
    return [
        (
            item["dn"],
            {
                key.lower(): [_text(v) for v in values]
                for key, values in item["raw_attributes"].items()
            },
        )
        for item in response
        if item.get("type") == "searchResEntry"
    ]


def check(connection: Any, ok: object = True) -> None:
    """Raise ``LdapRefused`` unless the last operation succeeded."""
    if not ok or connection.result["result"] != 0:
        raise LdapRefused(connection.result)


class LdapConnection:
    """Pooled, bound connections to the servers of ``settings`` (or to ``server``)."""

    def __init__(self, settings: LdapSettings, server: Any, client_strategy: str) -> None:
        self._settings = settings
        self._server = server  # None: fresh ones per connection, as ldap3 remembers for
        # minutes that an address failed, which would outlast the outage
        self._strategy = client_strategy
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def _servers(self) -> Any:
        settings = self._settings
        tls = Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_file=str(settings.ca_file) if settings.ca_file else None,
        )
        servers = [
            Server(url, tls=tls, connect_timeout=settings.timeout_seconds, get_info=NONE)
            for url in settings.urls
        ]
        return servers[0] if len(servers) == 1 else ServerPool(servers, FIRST, active=1)

    def _open(self) -> Any:
        settings = self._settings
        connection = Connection(
            self._server if self._server is not None else self._servers(),
            user=settings.bind_dn,
            password=settings.secret("bind_password").get_secret_value(),
            client_strategy=self._strategy,
            receive_timeout=settings.timeout_seconds,
            raise_exceptions=False,
            auto_referrals=False,
        )
        try:  # step by step: ldap3's auto_bind leaks the socket when StartTLS fails
            connection.open(read_server_info=False)
            secured = connection.start_tls(read_server_info=False) if settings.start_tls else True
            if not secured or not connection.bind():
                step = "bind" if secured else "start_tls"
                reason = (connection.result or {}).get("description", "no answer")
                raise LDAPBindError(f"{step} refused: {reason}")
        except LDAPException:
            self._discard(connection)
            raise
        return connection

    @contextmanager
    def _connection(self) -> Iterator[tuple[Any, bool]]:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        fresh = connection is None
        connection = self._open() if connection is None else connection
        try:
            yield connection, fresh
        except LDAPException:
            self._discard(connection)
            raise
        except BaseException:
            self._release(connection)
            raise
        self._release(connection)

    def _release(self, connection: Any) -> None:
        with self._lock:
            if len(self._idle) < self._settings.pool_size:
                self._idle.append(connection)
                return
        self._discard(connection)

    @staticmethod
    def _discard(connection: Any) -> None:
        with suppress(LDAPException):
            connection.unbind()
        # ldap3 leaves the socket of a failed open or a dead connection open
        with suppress(OSError, AttributeError):
            connection.socket.close()

    def close(self) -> None:
        """Unbind the idle connections (new ones are opened when needed)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            self._discard(connection)

    def unavailable(self, exc: LDAPException) -> DirectoryUnavailableError:
        settings = self._settings
        reason = str(exc).replace(settings.secret("bind_password").get_secret_value(), "***")
        return DirectoryUnavailableError(
            f"LDAP directory {settings.name!r} unavailable at {', '.join(settings.urls)}: "
            f"{type(exc).__name__}: {reason}"
        )

    def run(self, operation: Callable[[Any], T]) -> T:
        """Run on a pooled connection; a broken reused one is replaced once.

        ``LdapRefused`` and errors raised by ``operation`` pass through unchanged.
        """
        while True:
            fresh = True  # a failure to open counts as a failure of a fresh connection
            try:
                with self._connection() as (connection, fresh):
                    return operation(connection)
            except CLIENT_SIDE as exc:
                result = {"result": CLIENT_REFUSED, "description": str(exc)}
                raise LdapRefused(result) from None
            except LDAPException as exc:
                if fresh:
                    raise self.unavailable(exc) from None

    def search(
        self, base: str, search_filter: str, attributes: list[str], scope: str = SUBTREE
    ) -> list[Entry]:
        """Matching entries; none when ``base`` does not exist."""

        def search(connection: Any) -> list[Entry]:
            connection.search(base, search_filter, scope, attributes=attributes)
            if connection.result["result"] == NO_SUCH_OBJECT:
                return []
            check(connection)
            return _entries(connection.response)

        return self.run(search)

    def paged(self, base: str, search_filter: str, attributes: list[str]) -> Iterator[Entry]:
        """Every entry, page by page on one connection (a paging cookie is per connection)."""
        try:
            with self._connection() as (connection, _fresh):
                cookie: bytes | None = None
                while cookie != b"":
                    connection.search(
                        base,
                        search_filter,
                        SUBTREE,
                        attributes=attributes,
                        paged_size=self._settings.page_size,
                        paged_cookie=cookie,
                    )
                    check(connection)
                    yield from _entries(connection.response)
                    control = connection.result.get("controls", {}).get(PAGED_RESULTS, {})
                    cookie = control.get("value", {}).get("cookie") or b""
        except LDAPException as exc:
            raise self.unavailable(exc) from None

    def modify(self, dn: str, changes: dict[str, Any]) -> None:
        self.run(lambda connection: check(connection, connection.modify(dn, changes)))
