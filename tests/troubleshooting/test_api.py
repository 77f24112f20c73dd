"""The troubleshooting routes: a technician guided over HTTP, with problem details."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from gateway.api import DEFAULT_ROUTERS, create_app
from gateway.api.routes.troubleshooting import requires_troubleshooting, router
from gateway.app import Gateway
from gateway.callers.caller import Caller, CallerKind
from gateway.config import load_config
from gateway.troubleshooting.session import SessionStatus
from gateway.troubleshooting.tree import TreeCatalog
from tests.api.client import ApiClient
from tests.troubleshooting.lab_tree import LAB_TREE
from tests.troubleshooting.support import REPO, ScriptedRuntime, make_engine

ELENA = Caller(CallerKind.PERSON, "elena", "elena", frozenset({"troubleshooting:write"}))
BASE = "/v1/troubleshooting"
apps: dict[int, FastAPI] = {}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[ApiClient]:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    (tmp_path / "gateway.toml").write_text("", encoding="utf-8")
    config = load_config(tmp_path / "gateway.toml")
    gateway = Gateway.from_config(config)
    app = create_app(gateway, config, routers=[*DEFAULT_ROUTERS, router])
    (tmp_path / "trees").mkdir()
    (tmp_path / "trees" / "lab.yaml").write_text(LAB_TREE, encoding="utf-8")
    engine = make_engine(tmp_path, TreeCatalog.load(tmp_path / "trees"), runtime=ScriptedRuntime())
    app.state.services.troubleshooting = engine
    app.dependency_overrides[requires_troubleshooting] = lambda: ELENA
    api = ApiClient(app)
    apps[id(api)] = app
    yield api
    api.close()
    app.state.services.close()
    engine.close()
    gateway.close()


def test_a_session_is_guided_over_http(client: ApiClient) -> None:
    trees = client.request("GET", f"{BASE}/trees").json()
    assert [tree["id"] for tree in trees] == ["lab"]
    started = client.request("POST", f"{BASE}/sessions", json={"tree": "lab", "ticket": "INC1"})
    assert started.status_code == 201
    session = started.json()
    assert session["technician"] == "elena"
    assert session["prompt"]["node"] == "ask-kind"
    sid = session["id"]
    assert (
        client.request("POST", f"{BASE}/sessions/{sid}/answer", json={"value": "num"}).json()[
            "prompt"
        ]["node"]
        == "ask-count"
    )
    done = client.request("POST", f"{BASE}/sessions/{sid}/answer", json={"value": 1}).json()
    assert done["status"] == str(SessionStatus.RESOLVED)
    assert client.request("GET", f"{BASE}/sessions/{sid}").json()["outcome"]["node"] == "fix-a"
    assert client.request("POST", f"{BASE}/sessions/{sid}/resume").json()["status"] == "resolved"
    assert client.request("POST", f"{BASE}/sessions/{sid}/undo").json()["status"] == "active"
    report = client.request("GET", f"{BASE}/reports/lab").json()
    assert report["sessions"] == 1
    assert report["by_status"] == {"active": 1}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "kind"),
    [
        ("POST", "/sessions", {"tree": "nope"}, 404, "tree-not-found"),
        ("GET", "/sessions/missing", None, 404, "session-not-found"),
        ("POST", "/sessions", {"tree": "lab", "facts": {"colour": "red"}}, 422, "invalid-fact"),
        ("POST", "/sessions/missing/undo", None, 404, "session-not-found"),
    ],
    ids=["an unknown tree", "an unknown session", "an unknown fact", "undo of nothing"],
)
def test_errors_are_problem_details(
    client: ApiClient, method: str, path: str, body: object, status: int, kind: str
) -> None:
    response = client.request(method, BASE + path, json=body)
    assert response.status_code == status
    assert response.json()["type"] == f"urn:it-support-gateway:problem:{kind}"


def test_wrong_answers_and_wrong_states_are_refused(client: ApiClient) -> None:
    sid = client.request("POST", f"{BASE}/sessions", json={"tree": "lab"}).json()["id"]
    wrong = client.request("POST", f"{BASE}/sessions/{sid}/answer", json={"value": "tv"})
    assert wrong.status_code == 422
    assert wrong.json()["detail"] == "kind: expected one of net, acct, num, found 'tv'"
    assert client.request("POST", f"{BASE}/sessions/{sid}/undo").status_code == 409
    client.request("POST", f"{BASE}/sessions/{sid}/answer", json={"value": "num"})
    odd = client.request("POST", f"{BASE}/sessions/{sid}/answer", json={"value": 7})
    assert odd.status_code == 409
    assert "cannot be evaluated" in odd.json()["detail"]


def test_a_server_without_troubleshooting_says_so(client: ApiClient) -> None:
    apps[id(client)].state.services.troubleshooting = None
    response = client.request("GET", f"{BASE}/trees")
    assert response.status_code == 503
    assert response.json()["detail"] == "guided troubleshooting is not set up in this server"
