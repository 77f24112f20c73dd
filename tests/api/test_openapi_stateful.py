"""The OpenAPI document tells the truth across calls: schemathesis follows the document's
links (an execution, a session, an approval, a self-service run from its creation) with a
person's credentials reaching every route, and every answer passes every check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.generation.stateful.state_machine import APIStateMachine

from tests.api.conftest import ALL_SCOPES, Api, build_api
from tests.api.fuzzing import fuzzing_config

MAX_EXAMPLES = 30  # scenarios of up to STEPS linked calls, each on a fresh app (~2 s each)
STEPS = 10


def _seeded(folder: Path) -> Api:
    """An app where elena has executions, so the links from the list reach real ones as
    well as those the scenario makes."""
    api = build_api(folder)
    elena = api.as_person("elena")
    for user in ("tom", "sam"):
        started = api.client.post(
            "/v1/executions",
            json={"workflow": "password-reset", "parameters": {"user": user}},
            headers=elena,
        )
        assert started.status_code == 202, started.text
    return api


class _ScenarioApp:
    """The app of the scenario being run.  Each scenario starts from the same fresh state,
    so a scenario generated twice meets the same kinds of answers (a state left by earlier
    scenarios would make the generation itself depend on them)."""

    def __init__(self, api: Api) -> None:
        self.api = api

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.api.app(scope, receive, send)


@pytest.fixture
def scenario_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_ScenarioApp]:
    current = _ScenarioApp(_seeded(tmp_path_factory.mktemp("stateful")))
    yield current
    current.api.close()


def test_linked_calls_answer_as_documented(
    scenario_app: _ScenarioApp, tmp_path_factory: pytest.TempPathFactory
) -> None:
    def credentials() -> dict[str, str]:
        return scenario_app.api.as_person("elena", *ALL_SCOPES)

    first = credentials()
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", scenario_app, config=fuzzing_config(), headers=first
    )
    machine: type[APIStateMachine] = schema.as_state_machine()
    document = scenario_app.api.client.get("/openapi.json", headers=first).json()
    links = [
        name
        for item in document["paths"].values()
        for operation in item.values()
        for answer in operation["responses"].values()
        for name in answer.get("links", {})
    ]
    assert schema.statistic.transitions.total >= len(links) > 0  # the document's, at least

    class Workflow(machine):  # type: ignore[valid-type, misc]
        def setup(self) -> None:
            scenario_app.api.close()
            scenario_app.api = _seeded(tmp_path_factory.mktemp("scenario"))
            self.headers = credentials()

        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"headers": self.headers}

    Workflow.run(
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
