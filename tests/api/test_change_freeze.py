"""Over HTTP, a change freeze comes from the change calendar; a caller cannot claim one."""

from __future__ import annotations

from pathlib import Path

from gateway.cli.demo import frozen_calendar
from tests.api.conftest import MakeApi


def test_over_http_the_freeze_comes_from_the_calendar(make_api: MakeApi, tmp_path: Path) -> None:
    calendar = frozen_calendar(tmp_path / "calendar").path
    api = make_api(f'[changes]\ncalendar = "{calendar}"\n')
    grant = {"actor": "omar", "action": "access.grant", "resource": "account:tom",
             "context": {"system": "payroll"}}  # fmt: skip

    allowed = api.client.post(
        "/v1/data/gateway/authz", json={"input": grant}, headers=api.as_service()
    )
    forged = api.client.post(
        "/v1/data/gateway/authz",
        json={"input": {**grant, "context": {"system": "payroll", "change_freeze": False}}},
        headers=api.as_service(),
    )

    assert allowed.status_code == 200
    assert allowed.json()["result"]["allow"] is False
    assert forged.status_code == 422
    assert forged.json()["errors"][0]["field"] == "input.context.change_freeze"
