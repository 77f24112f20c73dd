"""Step-up over the HTTP API of a laptop serving a field kit (``gateway --offline KIT
serve``): the kit's own enrolment, the same route as online, recorded in the segment."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest

from gateway.api import create_app
from gateway.app import Services
from gateway.app.offline import offline_config
from gateway.config import load_config
from tests.api.client import ApiClient
from tests.api.conftest import write_config

from .conftest import invoke


def test_a_person_steps_up_over_http_on_a_kit_once_per_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(
        "offline", "prepare", "--technician", "elena", "--site", "branch-7", "--json"
    )
    assert code == 0, err
    prepared = json.loads(out)
    kit = Path(prepared["kit"])
    seed = pyotp.parse_uri(prepared["stepup_uri"]).secret
    laptop = offline_config(load_config(tmp_path / "gateway.toml"), kit, datetime.now(UTC))
    parts = Services(laptop)
    app = create_app(parts.gateway, laptop, runtime=parts.runtime, notifier=parts.notifier)
    client = ApiClient(app)
    token = app.state.services.callers.issuer.issue("elena", ("stepup:write",)).token
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
    used = pyotp.TOTP(seed).now()
    try:
        accepted = client.post("/v1/stepup/verify", json={"code": used}, headers=headers)
        replayed = client.post("/v1/stepup/verify", json={"code": used}, headers=headers)
        status = client.get("/v1/stepup/status", headers=headers)
    finally:
        client.close()
        app.state.services.close()
        parts.close()

    assert accepted.status_code == 204, accepted.text
    assert replayed.status_code == 401
    assert "already used" in replayed.text
    assert status.json()["enrolled"] is True
    segment = kit.with_name(kit.name.removesuffix(".kit.json") + ".segment.log")
    text = segment.read_text()
    kinds = [json.loads(line)["type"] for line in text.splitlines()]
    assert [k for k in kinds if k.startswith("stepup.")] == ["stepup.verified", "stepup.failed"]
    assert seed not in text
