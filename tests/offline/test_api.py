"""``POST /v1/offline/segments``: a segment merged over HTTP, as ``offline sync`` does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.api import create_app
from gateway.app import Services
from gateway.app.offline import offline_config
from gateway.config import load_config
from tests.api.client import ApiClient
from tests.api.conftest import Api, build_api, write_config

from .conftest import invoke


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    made = build_api(tmp_path)
    monkeypatch.chdir(tmp_path)
    yield made
    made.close()


def segment(tmp_path: Path) -> bytes:
    code, out, err = invoke(
        "offline", "prepare", "--technician", "elena", "--site", "branch-7", "--json"
    )
    assert code == 0, err
    kit = Path(json.loads(out)["kit"])
    code, _, err = invoke(
        "--offline", str(kit), "offline", "request", "--queue", "--actor", "elena",
        "--action", "password.reset", "--resource", "account:tom",
    )  # fmt: skip
    assert code == 0, err
    return kit.with_name(kit.name.removesuffix(".kit.json") + ".segment.log").read_bytes()


def post(api: Api, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    response = api.client.post(
        "/v1/offline/segments",
        content=body,
        headers={**headers, "Content-Type": "application/x-ndjson"},
    )
    return response.status_code, response.json()


def test_a_segment_is_merged_over_http_once(api: Api, tmp_path: Path) -> None:
    body = segment(tmp_path)
    sync = api.as_service("offline:sync")

    first = post(api, body, sync)
    again = post(api, body, sync)

    assert first[0] == 201, first
    assert (first[1]["status"], first[1]["records"]) == ("merged", 2)
    [replayed] = first[1]["replayed"]  # type: ignore[misc]
    assert (replayed["action"], replayed["decision"]) == ("password.reset", "allow")
    assert again[0] == 200
    assert again[1]["status"] == "already merged"
    assert len(api.audited("offline.segment_merged")) == 1
    [batch] = api.audited("offline.record")
    assert len(batch.payload["lines"]) == 2


def test_the_next_segment_of_a_kit_is_merged_over_http_after_the_first(
    api: Api, tmp_path: Path
) -> None:
    body = segment(tmp_path)
    sync = api.as_service("offline:sync")
    first = post(api, body, sync)
    [kit] = list((tmp_path / "var/offline/kits").glob("*.kit.json"))
    code, _, err = invoke(
        "--offline", str(kit), "authorize", "--actor", "elena",
        "--action", "diagnostics.run", "--resource", "host:tom-laptop",
    )  # fmt: skip
    assert code == 0, err
    grown = kit.with_name(kit.name.removesuffix(".kit.json") + ".segment.log").read_bytes()

    second = post(api, grown, sync)
    again = post(api, grown, sync)
    forked = post(api, body.splitlines()[0] + b"\n" + grown.splitlines()[2] + b"\n", sync)

    assert (first[0], first[1]["segment"], first[1]["conflicts"]) == (201, 1, [])
    assert second[0] == 201, second
    assert (second[1]["status"], second[1]["segment"], second[1]["records"]) == ("merged", 2, 1)
    assert second[1]["replayed"] == []  # the queued reset was replayed with the first
    assert (again[0], again[1]["status"], again[1]["segment"]) == (200, "already merged", 2)
    assert forked[0] == 422
    assert "segment record 1: gap: expected seq 1, found 2" in str(forked[1]["detail"])
    merged = api.audited("offline.segment_merged")
    assert [(m.payload["first"], m.payload["records"]) for m in merged] == [(0, 2), (2, 1)]


def test_a_forged_segment_is_refused_over_http_and_kept_aside(api: Api, tmp_path: Path) -> None:
    first, second = segment(tmp_path).splitlines()
    forged = first.replace(b'"actor":"elena"', b'"actor":"sam"')

    status, problem = post(api, forged + b"\n" + second + b"\n", api.as_service("offline:sync"))

    assert status == 422
    assert problem["type"].endswith("segment-refused")  # type: ignore[union-attr]
    assert "segment record 0: bad signature" in str(problem["detail"])
    [refused] = api.audited("offline.segment_refused")
    assert refused.payload["first_bad_record"] == 0
    assert list((tmp_path / "var/offline/quarantine").glob("segment.log.*.reason"))


def test_a_caller_without_the_scope_is_refused(api: Api, tmp_path: Path) -> None:
    status, _ = post(api, segment(tmp_path), api.as_service("audit:read"))

    assert status == 403
    assert api.audited("offline.segment_merged") == []


def test_an_empty_upload_is_refused(api: Api) -> None:
    status, problem = post(api, b"", api.as_service("offline:sync"))

    assert status == 422
    assert "segment: empty" in str(problem["detail"])


def test_the_http_api_decides_from_a_kit_on_the_laptop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    central = tmp_path / "central"
    central.mkdir()
    write_config(central)
    monkeypatch.chdir(central)
    code, out, err = invoke(
        "offline", "prepare", "--technician", "elena", "--site", "branch-7", "--json"
    )
    assert code == 0, err
    kit = Path(json.loads(out)["kit"])
    laptop = offline_config(load_config(central / "gateway.toml"), kit, datetime.now(UTC))
    parts = Services(laptop)
    app = create_app(parts.gateway, laptop, runtime=parts.runtime, notifier=parts.notifier)
    client = ApiClient(app)
    issuer = app.state.services.callers.issuer
    token = issuer.issue("elena", ("decisions:write",)).token.get_secret_value()
    try:
        response = client.post(
            "/v1/decisions",
            json={"actor": "elena", "action": "diagnostics.run", "resource": "host:tom-laptop"},
            headers={"Authorization": f"Bearer {token}"},
        )
        reset = client.post(
            "/v1/decisions",
            json={"actor": "elena", "action": "password.reset", "resource": "account:tom"},
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        client.close()
        app.state.services.close()
        parts.close()

    assert response.status_code == 200, response.text
    assert response.json()["decision"] == "allow"
    assert reset.json()["decision"] == "deny"
    segment = kit.with_name(kit.name.removesuffix(".kit.json") + ".segment.log")
    records = [json.loads(line) for line in segment.read_text().splitlines()]
    assert [r["payload"]["context"].get("offline") for r in records] == [True, True]
