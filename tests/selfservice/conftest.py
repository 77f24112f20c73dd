"""Fixtures: the shipped catalog over a gateway and runtime in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from tests.selfservice.harness import Clock, Stack, make_config


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest) -> GatewayConfig:
    """The test configuration; on both storage backends in the modules that use the
    ``storage_settings`` fixture (``pytestmark = pytest.mark.usefixtures(...)``)."""
    config = make_config(tmp_path)
    if "storage_settings" in request.fixturenames:
        config = config.model_copy(update={"storage": request.getfixturevalue("storage_settings")})
    return config


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stack(config: GatewayConfig, clock: Clock) -> Iterator[Stack]:
    made = Stack(config, clock)
    yield made
    made.close()
