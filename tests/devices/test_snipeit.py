"""The Snipe-IT installer against a local HTTP server speaking the Snipe-IT API v1 shapes:
``rows``/``total`` lists, license seats with ``assigned_asset``, seat PATCH checkouts,
``{"status": "error", "messages"}`` refusals with HTTP 200, and Bearer tokens."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import ValidationError

from gateway.app import Gateway, open_runtime
from gateway.config import load_config
from gateway.devices.snipeit import SnipeItInstaller, SnipeItSettings
from gateway.errors import ActionFailedError, ConfigError, TargetUnavailableError
from gateway.runtime.model import ExecutionState
from gateway.secrets import FILE_CONTEXT
from tests.integration.quiet_http import QuietHandler, QuietServer

REPO = Path(__file__).resolve().parents[2]

TOKEN = "snipe-test-token-1"


@dataclass
class SnipeIt:
    assets: list[dict[str, Any]] = field(default_factory=list)
    licenses: list[dict[str, Any]] = field(default_factory=list)
    seats: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]], str]] = field(default_factory=list)
    fail_next: int = 0
    refuse_next: str | None = None
    raw_next: bytes | None = None


def _sample() -> SnipeIt:
    return SnipeIt(
        assets=[
            {"id": 12, "name": "tom-laptop-old", "asset_tag": "FIN-0009"},
            {"id": 11, "name": "tom-laptop", "asset_tag": "FIN-0101"},
            {"id": 13, "name": "priya-laptop", "asset_tag": "FIN-0103"},
        ],
        licenses=[
            {"id": 5, "name": "Visio Pro", "seats": 0},
            {"id": 3, "name": "Visio", "seats": 2},
            {"id": 4, "name": "7zip", "seats": 1},
        ],
        seats={
            3: [
                {
                    "id": 31,
                    "assigned_asset": {"id": 13, "name": "priya-laptop"},
                    "assigned_user": None,
                },
                {"id": 32, "assigned_asset": None, "assigned_user": None},
            ],
            4: [{"id": 41, "assigned_asset": None, "assigned_user": {"id": 2}}],
        },
    )


def _handler(state: SnipeIt) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def _answer(self, status: int, body: object) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._answer(401, {"status": "error", "messages": "Unauthenticated."})
                return
            state.requests.append((method, parts.path, query, body))
            if state.fail_next:
                state.fail_next -= 1
                self._answer(503, {"status": "error", "messages": "maintenance"})
                return
            if state.raw_next is not None:
                raw, state.raw_next = state.raw_next, None
                self._answer(200, raw)
                return
            search = query.get("search", [""])[0].lower()
            path = parts.path
            if method == "GET" and path == "/api/v1/hardware":
                rows = [a for a in state.assets if search in a["name"].lower()]
                self._answer(200, {"total": len(rows), "rows": rows})
            elif method == "GET" and path == "/api/v1/licenses":
                rows = [lic for lic in state.licenses if search in lic["name"].lower()]
                self._answer(200, {"total": len(rows), "rows": rows})
            elif method == "GET" and path.endswith("/seats"):
                rows = state.seats.get(int(path.split("/")[4]), [])
                self._answer(200, {"total": len(rows), "rows": rows})
            elif method == "PATCH" and "/seats/" in path:
                if state.refuse_next is not None:
                    message, state.refuse_next = state.refuse_next, None
                    self._answer(200, {"status": "error", "messages": message, "payload": None})
                    return
                license_id, seat_id = int(path.split("/")[4]), int(path.split("/")[6])
                asset_id = json.loads(body).get("asset_id")
                for seat in state.seats[license_id]:
                    if seat["id"] == seat_id:
                        seat["assigned_asset"] = None if asset_id is None else {"id": asset_id}
                self._answer(
                    200, {"status": "success", "messages": "License seat updated", "payload": {}}
                )
            else:
                self._answer(404, {"status": "error", "messages": "404 endpoint not found"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[SnipeIt, str]]:
    state = _sample()
    httpd = QuietServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _installer(url: str, token: str = TOKEN) -> SnipeItInstaller:
    return SnipeItInstaller(SnipeItSettings(base_url=url + "/", token=token))


def test_install_checks_out_a_free_seat_to_the_asset_once(server: tuple[SnipeIt, str]) -> None:
    state, url = server
    installer = _installer(url)
    try:
        first = installer.install("tom-laptop", "visio")
        again = installer.install("tom-laptop", "visio")
    finally:
        installer.close()
    assert (first.changed, first.detail) == (True, "visio installed on tom-laptop")
    assert (again.changed, again.detail) == (False, "visio was already on tom-laptop")
    patches = [r for r in state.requests if r[0] == "PATCH"]
    assert [(p[1], json.loads(p[3])["asset_id"]) for p in patches] == [
        ("/api/v1/licenses/3/seats/32", 11)
    ]
    assert state.requests[0][2] == {"limit": ["500"], "search": ["tom-laptop"]}


def test_uninstall_checks_the_seat_back_in(server: tuple[SnipeIt, str]) -> None:
    state, url = server
    installer = _installer(url)
    try:
        removed = installer.uninstall("priya-laptop", "visio")
        nothing = installer.uninstall("priya-laptop", "visio")
    finally:
        installer.close()
    assert (removed.changed, nothing.changed) == (True, False)
    old = _installer(url)
    try:
        assert old.install("tom-laptop-old", "visio").changed is True
    finally:
        old.close()
    assert nothing.detail == "visio was not on priya-laptop"
    body = json.loads(next(r for r in state.requests if r[0] == "PATCH")[3])
    assert (body["asset_id"], body["assigned_to"]) == (None, None)


@pytest.mark.parametrize(
    ("device", "title", "message"),
    [
        ("ghost", "visio", "snipe-it has no asset named 'ghost'"),
        ("tom-laptop", "photoshop", "snipe-it has no license for 'photoshop'"),
        ("tom-laptop", "7zip", "snipe-it: no free seat of the 7zip license"),
    ],
)
def test_refusals_name_what_is_missing(
    server: tuple[SnipeIt, str], device: str, title: str, message: str
) -> None:
    installer = _installer(server[1])
    try:
        with pytest.raises(ActionFailedError, match=message):
            installer.install(device, title)
    finally:
        installer.close()


def test_hostile_values_travel_only_as_encoded_query_values(server: tuple[SnipeIt, str]) -> None:
    state, url = server
    hostile = "tom-laptop&limit=1/../../users?x=1#"
    installer = _installer(url)
    try:
        with pytest.raises(ActionFailedError, match="no asset named"):
            installer.install(hostile, "visio")
    finally:
        installer.close()
    method, path, query, _ = state.requests[0]
    assert (method, path) == ("GET", "/api/v1/hardware")
    assert query == {"limit": ["500"], "search": [hostile]}


def test_a_refusal_with_http_200_is_an_action_failure(server: tuple[SnipeIt, str]) -> None:
    state, url = server
    state.refuse_next = "The license seat is not available"
    installer = _installer(url)
    try:
        with pytest.raises(
            ActionFailedError, match="snipe-it refused: The license seat is not available"
        ):
            installer.install("tom-laptop", "visio")
    finally:
        installer.close()


def test_outages_are_unavailable_and_bad_answers_fail(server: tuple[SnipeIt, str]) -> None:
    state, url = server
    installer = _installer(url)
    try:
        state.fail_next = 1
        with pytest.raises(TargetUnavailableError, match="snipe-it is unavailable: HTTP 503"):
            installer.install("tom-laptop", "visio")
        for raw, message in [
            (b"<html>", "not JSON"),
            (b"[1]", "unexpected shape"),
            (b'{"total": 0}', "a list without rows"),
            (b'{"rows": [{"id": "x", "name": "tom-laptop"}]}', "an asset without a valid id"),
        ]:
            state.raw_next = raw
            with pytest.raises(ActionFailedError, match=message):
                installer.install("tom-laptop", "visio")
    finally:
        installer.close()
    wrong = _installer(url, token="wrong-token")
    try:
        with pytest.raises(ActionFailedError) as caught:
            wrong.install("tom-laptop", "visio")
    finally:
        wrong.close()
    assert "refused the API token (HTTP 401)" in str(caught.value)
    assert "wrong-token" not in str(caught.value)


def test_an_unknown_endpoint_and_a_dead_server(server: tuple[SnipeIt, str]) -> None:
    installer = _installer(server[1])
    try:
        with pytest.raises(ActionFailedError, match="answered HTTP 404 to GET /nope"):
            installer._call("GET", "/nope")
    finally:
        installer.close()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    dead = SnipeItInstaller(
        SnipeItSettings(base_url="https://assets.example.com", token=TOKEN),
        transport=httpx.MockTransport(refuse),
    )
    with pytest.raises(TargetUnavailableError, match="snipe-it is unavailable: ConnectError"):
        dead.install("tom-laptop", "visio")
    dead.close()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"base_url": "https://a.example"}, "token_env: name the environment variable"),
        ({"base_url": "http://a.example", "token_env": "SNIPE_T"}, "loopback"),
        ({"base_url": "ftp://a", "token_env": "SNIPE_T"}, "https:// URL"),
        ({"base_url": "https://u:p@a.example", "token_env": "SNIPE_T"}, "only"),
    ],
)
def test_settings_errors_are_clear_and_never_show_the_url(
    table: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        SnipeItSettings.model_validate(table)
    assert "u:p" not in str(caught.value)


def test_an_unset_token_variable_is_named_when_the_installer_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SNIPE_T", raising=False)
    settings = SnipeItSettings(base_url="https://a.example", token_env="SNIPE_T")
    with pytest.raises(ConfigError) as caught:
        settings.with_secrets("selfservice.snipeit")
    assert str(caught.value) == (
        "selfservice.snipeit.token_env: environment variable SNIPE_T is not set"
    )


def test_settings_from_the_configuration_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNIPE_T", TOKEN)
    table = {"base_url": "http://localhost:8000", "token_env": "SNIPE_T"}
    named = SnipeItSettings.model_validate(table, context=FILE_CONTEXT)
    settings = named.with_secrets("selfservice.snipeit")
    assert settings.secret("token").get_secret_value() == TOKEN
    assert settings.base_url == "http://localhost:8000"
    assert TOKEN not in repr(settings)
    ipv6 = {"base_url": "http://[::1]:80", "token_env": "SNIPE_T"}
    assert SnipeItSettings.model_validate(ipv6).name == "snipe-it"


def test_a_configured_snipe_it_is_where_the_runtime_installs(
    server: tuple[SnipeIt, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = server
    monkeypatch.setenv("SNIPE_T", TOKEN)
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    (tmp_path / "gateway.toml").write_text(
        f'[selfservice.snipeit]\nbase_url = "{url}"\ntoken_env = "SNIPE_T"\n', encoding="utf-8"
    )
    config = load_config(tmp_path / "gateway.toml")
    gateway = Gateway.from_config(config)
    executor = open_runtime(config, gateway)
    try:
        started = executor.start(
            "software-install", {"title": "visio", "device": "tom-laptop"}, actor="elena"
        )
        done = executor.advance(started.id)
    finally:
        executor.close()
        gateway.close()

    assert done.state is ExecutionState.SUCCEEDED
    assert done.step("install").output == {"changed": True}
    patches = [r for r in state.requests if r[0] == "PATCH"]
    assert [(p[1], json.loads(p[3])["asset_id"]) for p in patches] == [
        ("/api/v1/licenses/3/seats/32", 11)
    ]
