"""A local HTTP server that speaks the Okta Management API (v1) shapes the gateway uses.

It follows Okta's own documents: the Users API reference (okta/okta-developer-docs,
``docs/reference/api/users/index.md``, read at its last revision before the move to the
OpenAPI portal: the user object, "Default Profile properties" with ``userType``,
``managerId`` = the manager's ``id`` and ``manager`` = the manager's ``displayName``, the
"Provider object" (``credentials.provider.type`` in ``OKTA``, ``ACTIVE_DIRECTORY``,
``LDAP``, ``FEDERATION``, ``SOCIAL``, ``IMPORT``; the directory instance name as ``name``
for ``ACTIVE_DIRECTORY`` and ``LDAP``; no password credential for ``FEDERATION`` and
``SOCIAL``), "Get User" by id, login or short name, "Unlock User" (Okta-sourced users
only, not directory-sourced ones such as Active Directory) and the lifecycle operations),
and ``data/error-codes.json`` for the error codes (``E0000007`` not found, ``E0000014``
update of credentials failed, ``E0000032`` unlock not allowed, ``E0000047`` rate limit).

It holds an in-memory org (users, groups, memberships, factors) and answers like Okta:
``Authorization: SSWS <token>`` or a 401 error object, cursor pagination with
``Link: <...>; rel="next"`` (at most ``page_limit`` items a page, default 2, so every list
is paginated), SCIM-style ``search``/``filter`` on ``profile.email``/``profile.login``/
``profile.displayName``/``profile.city`` (Okta's ``search`` takes any profile property),
lifecycle operations that change state, and ``{"errorCode", "errorSummary", ...}``
objects.  ``add_user(..., provider=(type, name))`` makes a user whose password another
system owns: setting that password answers 403 ``E0000014`` and unlocking an Active
Directory or LDAP user 403 ``E0000032``.

Switches for failure tests: ``rate_limit(n)`` answers the next ``n`` requests with 429 and
the ``X-Rate-Limit-*`` headers, ``fail(n)`` with an error object (500 by default),
``answer_raw(n, ...)`` with any bytes, ``stall_seconds`` delays every answer,
``foreign_next_link`` points pagination at another host and ``echo_passwords`` puts a
rejected password in the error (a hostile peer).  Every request that passes the token
check is recorded in ``requests``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from tests.integration.quiet_http import QuietHandler, QuietServer

ISO = "%Y-%m-%dT%H:%M:%S.000Z"
_CLAUSE = re.compile(
    r'\s*(?P<field>profile\.(?:email|login|displayName|city)|status|id)\s+eq\s+(?P<value>"(?:[^"\\]|\\.)*")\s*'
    r"(?:(?P<join>and|or)\s+|$)"
)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # as received, still percent-encoded
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str


@dataclass
class OktaOrg:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)  # group id -> user ids
    factors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


_PASSWORDLESS = frozenset({"FEDERATION", "SOCIAL"})  # authenticated by an identity provider
_DIRECTORY_SOURCED = frozenset({"ACTIVE_DIRECTORY", "LDAP"})


def _provider(user: dict[str, Any]) -> str:
    return str(user["credentials"]["provider"]["type"])


class OktaError(Exception):
    def __init__(self, status: int, code: str, summary: str, causes: tuple[str, ...] = ()) -> None:
        super().__init__(summary)
        self.status, self.code, self.summary, self.causes = status, code, summary, causes


def _not_found(thing: str, kind: str) -> OktaError:
    return OktaError(404, "E0000007", f"Not found: Resource not found: {thing} ({kind})")


class OktaServer:
    """Start with ``start()``, stop with ``stop()``; ``base_url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, token: str, *, page_limit: int = 2, owner: str = "admin@example.com"):
        self.token = token
        self.page_limit = page_limit
        self.org = OktaOrg()
        self.requests: list[Recorded] = []
        self.lock = threading.RLock()
        self.rate_limited = 0
        self.rate_limit_reset: int | str = 0
        self.canned: list[tuple[str, int, bytes, str]] = []  # (path part, status, body, type)
        self.stall_seconds = 0.0
        self.foreign_next_link = False
        self.echo_passwords = False
        self.now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
        self._httpd: QuietServer | None = None
        self._connections: set[socket.socket] = set()
        self._owner = self.add_user(owner)

    # -- lifecycle of the server ----------------------------------------------------------

    def start(self) -> None:
        server = self

        class Handler(_Handler):
            okta = server

        self._httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        polling = threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True)
        polling.start()

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        with self.lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        self._httpd = None

    # -- seeding and inspecting the org ---------------------------------------------------

    def add_user(
        self,
        login: str,
        status: str = "ACTIVE",
        *,
        provider: tuple[str, str] = ("OKTA", "OKTA"),
        **profile: Any,
    ) -> str:
        """A user with ``profile`` (Okta's default properties: ``userType``, ``managerId``
        as the manager's id, ``manager`` as the manager's display name, ...) whose password
        is checked by ``provider`` (type, name), e.g. ``("ACTIVE_DIRECTORY", "corp.example")``.
        """
        user_id = f"00u{len(self.org.users) + 1:04d}"
        stamp = self.now.strftime(ISO)
        kind, name = provider
        credentials: dict[str, Any] = {"provider": {"type": kind, "name": name}}
        if kind not in _PASSWORDLESS:
            credentials = {"password": {}, **credentials}
        self.org.users[user_id] = {
            "id": user_id,
            "status": status,
            "created": stamp,
            "activated": None if status == "STAGED" else stamp,
            "statusChanged": stamp,
            "lastLogin": None,
            "lastUpdated": profile.pop("lastUpdated", stamp),
            "passwordChanged": profile.pop("passwordChanged", None),
            "type": {"id": "oty0000"},
            "profile": {"login": login, "email": login, **profile},
            "credentials": credentials,
            "_links": {"self": {"href": f"/api/v1/users/{user_id}"}},
        }
        self.org.factors[user_id] = []
        return user_id

    def add_group(self, name: str, *, type_: str = "OKTA_GROUP") -> str:
        group_id = f"00g{len(self.org.groups) + 1:04d}"
        self.org.groups[group_id] = {
            "id": group_id,
            "type": type_,
            "profile": {"name": name, "description": f"{name} group"},
        }
        self.org.members[group_id] = []
        return group_id

    def add_member(self, group_id: str, user_id: str) -> None:
        self.org.members[group_id].append(user_id)

    def add_factor(self, user_id: str, factor_type: str, status: str = "ACTIVE") -> None:
        factors = self.org.factors[user_id]
        factor = {"id": f"ufs{len(factors) + 1:04d}", "factorType": factor_type, "status": status}
        factors.append({**factor, "provider": "OKTA"})

    def status_of(self, user_id: str) -> str:
        return str(self.org.users[user_id]["status"])

    def group_names_of(self, user_id: str) -> set[str]:
        return {
            self.org.groups[gid]["profile"]["name"]
            for gid, members in self.org.members.items()
            if user_id in members
        }

    def rate_limit(self, count: int, *, reset: int | str) -> None:
        """Answer the next ``count`` requests with 429, ``X-Rate-Limit-Reset: reset``."""
        self.rate_limited, self.rate_limit_reset = count, reset

    def fail(
        self,
        count: int,
        status: int = 500,
        code: str = "E0000009",
        summary: str = "Internal Server Error",
        *,
        on: str = "",
    ) -> None:
        """Answer the next ``count`` requests (whose path contains ``on``) with an error."""
        body = {"errorCode": code, "errorSummary": summary, "errorLink": code,
                "errorId": "oae0000000001", "errorCauses": []}  # fmt: skip
        self.answer_raw(count, status, json.dumps(body).encode(), "application/json", on=on)

    def answer_raw(
        self, count: int, status: int, body: bytes, content_type: str, *, on: str = ""
    ) -> None:
        """Answer the next ``count`` requests (whose path contains ``on``) with exactly this."""
        self.canned.extend([(on, status, body, content_type)] * count)

    def take_canned(self, path: str) -> tuple[int, bytes, str] | None:
        for index, (on, status, body, content_type) in enumerate(self.canned):
            if on in path:
                del self.canned[index]
                return status, body, content_type
        return None

    # -- the API --------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        if self.rate_limited:
            self.rate_limited -= 1
            raise OktaError(
                429, "E0000047", "API call exceeded rate limit due to too many requests."
            )
        parts = [unquote(part) for part in path.split("/")[3:]]  # after /api/v1
        match (method, parts):
            case ("GET", ["users"]):
                return self._list_users(query)
            case ("GET", ["users", user]):
                return self._user(self._owner if user == "me" else user)
            case ("POST", ["users", user]):
                return self._update(self._user(user), body)
            case ("GET", ["users", user, "groups"]):
                user_id = self._user(user)["id"]
                return [g for gid, g in self.org.groups.items() if user_id in self.org.members[gid]]
            case ("GET", ["users", user, "factors"]):
                return list(self.org.factors[self._user(user)["id"]])
            case ("POST", ["users", user, "lifecycle", operation]):
                return self._lifecycle(self._user(user), operation, query)
            case ("GET", ["groups"]):
                prefix = query.get("q", [""])[0].casefold()
                return [
                    g
                    for g in self.org.groups.values()
                    if g["profile"]["name"].casefold().startswith(prefix)
                ]
            case ("PUT" | "DELETE", ["groups", group_id, "users", user]):
                return self._membership(method, group_id, self._user(user)["id"])
        raise OktaError(404, "E0000022", "The endpoint does not support the provided HTTP method")

    def _user(self, key: str) -> dict[str, Any]:
        for user in self.org.users.values():
            login = user["profile"]["login"].casefold()
            if key == user["id"] or key.casefold() in (login, login.partition("@")[0]):
                return user
        raise _not_found(key, "User")

    def _list_users(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        expression = (query.get("search") or query.get("filter") or [""])[0]
        if not expression:
            return list(self.org.users.values())
        clauses: list[tuple[str, str]] = []
        joins: set[str] = set()
        position = 0
        while position < len(expression):
            clause = _CLAUSE.match(expression, position)
            if clause is None or clause.end() == position:
                raise OktaError(400, "E0000031", "Invalid search criteria.")
            clauses.append((clause["field"], json.loads(clause["value"])))
            joins.add(clause["join"] or "")
            position = clause.end()
        combine = all if "and" in joins else any

        def value_of(user: dict[str, Any], name: str) -> str:
            holder = user["profile"] if name.startswith("profile.") else user
            return str(holder.get(name.removeprefix("profile."), ""))

        return [
            user
            for user in self.org.users.values()
            if combine(value_of(user, f).casefold() == v.casefold() for f, v in clauses)
        ]

    def _update(self, user: dict[str, Any], body: Any) -> dict[str, Any]:
        password = (body or {}).get("credentials", {}).get("password", {}).get("value")
        if password is not None:
            if _provider(user) not in ("OKTA", "IMPORT"):
                raise OktaError(403, "E0000014", "Update of credentials failed")
            if user["status"] in ("SUSPENDED", "DEPROVISIONED"):
                raise OktaError(
                    403, "E0000112", f"Unable to update the password of a {user['status']} user."
                )
            if len(password) < 8:
                shown = f" '{password}'" if self.echo_passwords else ""
                raise OktaError(
                    400,
                    "E0000001",
                    f"Api validation failed: password{shown}",
                    ("password: Password requirements were not met. At least 8 characters.",),
                )
            self.org.passwords[user["id"]] = password
            user["passwordChanged"] = self._touch(user)
            if user["status"] in ("PASSWORD_EXPIRED", "RECOVERY", "PROVISIONED"):
                user["status"] = "ACTIVE"
        user["profile"].update((body or {}).get("profile", {}))
        self._touch(user)
        return user

    def _touch(self, user: dict[str, Any]) -> str:
        user["lastUpdated"] = stamp = self.now.strftime(ISO)
        return stamp

    def _lifecycle(
        self, user: dict[str, Any], operation: str, query: dict[str, list[str]]
    ) -> dict[str, Any]:
        allowed = {
            "unlock": ({"LOCKED_OUT"}, "ACTIVE"),
            "suspend": ({"ACTIVE"}, "SUSPENDED"),
            "unsuspend": ({"SUSPENDED"}, "ACTIVE"),
            "activate": ({"STAGED", "DEPROVISIONED"}, "ACTIVE"),
            "deactivate": (set(self._statuses()) - {"DEPROVISIONED"}, "DEPROVISIONED"),
            "expire_password": (
                {"ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY"},
                "PASSWORD_EXPIRED",
            ),
            "reset_password": (
                {"ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY"},
                "RECOVERY",
            ),
        }
        if operation not in allowed:
            raise _not_found(operation, "Lifecycle operation")
        if operation == "unlock" and _provider(user) in _DIRECTORY_SOURCED:
            raise OktaError(403, "E0000032", "Unlock is not allowed for this user.")
        sources, target = allowed[operation]
        if user["status"] not in sources:
            if operation == "unlock":
                raise OktaError(403, "E0000032", "Unlock is not allowed for this user.")
            if operation == "activate":
                raise OktaError(
                    403, "E0000016", "Activation failed because the user is already active"
                )
            raise OktaError(
                400,
                "E0000001",
                f"Api validation failed: cannot {operation} a {user['status']} user",
            )
        if operation == "activate" and user["id"] not in self.org.passwords:
            target = "PROVISIONED"
        user["status"] = target
        self._touch(user)
        if operation == "expire_password" and query.get("tempPassword") == ["true"]:
            self.org.passwords[user["id"]] = temp = f"Tmp-{user['id']}-x9"
            return {"tempPassword": temp}
        if operation == "reset_password" and query.get("sendEmail") == ["false"]:
            return {"resetPasswordUrl": f"{self.base_url}/reset_password/drp{user['id']}"}
        return {} if operation != "expire_password" else user

    @staticmethod
    def _statuses() -> tuple[str, ...]:
        return ("STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED",
                "LOCKED_OUT", "SUSPENDED", "DEPROVISIONED")  # fmt: skip

    def _membership(self, method: str, group_id: str, user_id: str) -> None:
        if group_id not in self.org.groups:
            raise _not_found(group_id, "UserGroup")
        members = self.org.members[group_id]
        if method == "PUT" and user_id not in members:
            members.append(user_id)
        if method == "DELETE" and user_id in members:
            members.remove(user_id)

    def page(
        self, path: str, query: dict[str, list[str]], items: list[Any]
    ) -> tuple[list[Any], list[str]]:
        """One page of ``items`` (sorted by id) and the ``Link`` header values."""
        limit = min(int(query.get("limit", [str(self.page_limit)])[0]), self.page_limit)
        after = query.get("after", [""])[0]
        ordered = sorted(items, key=lambda item: str(item["id"]))
        remaining = [item for item in ordered if str(item["id"]) > after]
        chunk = remaining[:limit]
        plain = {key: values[0] for key, values in query.items() if key != "after"}
        base = "http://elsewhere.example" if self.foreign_next_link else self.base_url
        links = [f'<{self.base_url}{path}?{urlencode(plain)}>; rel="self"']
        if len(remaining) > limit:
            next_query = urlencode({**plain, "after": chunk[-1]["id"], "limit": str(limit)})
            links.append(f'<{base}{path}?{next_query}>; rel="next"')
        return chunk, links


class _Handler(QuietHandler):
    okta: OktaServer

    def setup(self) -> None:
        super().setup()
        with self.okta.lock:
            self.okta._connections.add(self.connection)

    def _answer(self, status: int, payload: Any, headers: list[tuple[str, str]]) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self._answer_bytes(status, data, "application/json", headers)

    def _answer_bytes(
        self, status: int, data: bytes, content_type: str, headers: list[tuple[str, str]]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _serve(self) -> None:
        okta = self.okta
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        rate = [("X-Rate-Limit-Limit", "600"), ("X-Rate-Limit-Remaining", "599"),
                ("X-Rate-Limit-Reset", str(okta.rate_limit_reset))]  # fmt: skip
        if okta.stall_seconds:
            time.sleep(okta.stall_seconds)
        if self.headers.get("Authorization") != f"SSWS {okta.token}":
            error = OktaError(401, "E0000011", "Invalid token provided")
            return self._error(error, rate)
        with okta.lock:
            okta.requests.append(
                Recorded(self.command, url.path, query, dict(self.headers.items()), raw)
            )
            canned = okta.take_canned(url.path)
            if canned is not None:
                return self._answer_bytes(canned[0], canned[1], canned[2], rate)
            try:
                result = okta.handle(
                    self.command, url.path, query, json.loads(raw) if raw else None
                )
            except OktaError as error:
                if error.status == 429:
                    rate[1] = ("X-Rate-Limit-Remaining", "0")
                return self._error(error, rate)
            if isinstance(result, list):
                result, links = okta.page(url.path, query, result)
                return self._answer(200, result, rate + [("Link", link) for link in links])
        if result is None:
            return self._answer(204, None, rate)
        return self._answer(200, result, rate)

    def _error(self, error: OktaError, headers: list[tuple[str, str]]) -> None:
        body = {
            "errorCode": error.code,
            "errorSummary": error.summary,
            "errorLink": error.code,
            "errorId": "oae" + format(abs(hash(error.summary)) % 10**10, "010d"),
            "errorCauses": [{"errorSummary": cause} for cause in error.causes],
        }
        self._answer(error.status, body, headers)

    do_GET = do_POST = do_PUT = do_DELETE = _serve
