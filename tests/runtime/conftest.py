"""Fixtures: a configuration under a temporary folder and a runtime over it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import GatewayConfig
from tests.runtime.harness import Clock, Runtime, Ticketing, install_test_workflows, make_config

MakeRuntime = Callable[..., Runtime]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ticketing() -> Ticketing:
    return Ticketing()


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest) -> GatewayConfig:
    """The test configuration; on both storage backends in the modules that use the
    ``storage_settings`` fixture (``pytestmark = pytest.mark.usefixtures(...)``)."""
    config = make_config(tmp_path)
    if "storage_settings" in request.fixturenames:
        config = config.model_copy(update={"storage": request.getfixturevalue("storage_settings")})
    install_test_workflows(config)
    return config


@pytest.fixture
def make_runtime(
    config: GatewayConfig, clock: Clock, ticketing: Ticketing
) -> Iterator[MakeRuntime]:
    made: list[Runtime] = []

    def make(**options: Any) -> Runtime:
        runtime = Runtime(config, clock, ticketing, **options)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


@pytest.fixture
def runtime(make_runtime: MakeRuntime) -> Runtime:
    return make_runtime()
