"""A gateway and runtime over temporary files with ``kb.publish`` registered, local
knowledge base servers, and trails built from real executions."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from gateway.app import Gateway, build_notifier, open_knowledge
from gateway.config import GatewayConfig, KnowledgeConfig
from gateway.devices.embedded import EmbeddedDeviceManager
from gateway.identity.embedded_actions import EmbeddedDirectoryActions
from gateway.knowledge.actions import knowledge_actions
from gateway.knowledge.base import KnowledgeBase
from gateway.runtime.actions import ActionRegistry
from gateway.runtime.builtin import directory_actions, notification_actions, software_actions
from gateway.runtime.executor import Executor, RuntimeSettings
from gateway.runtime.model import Execution
from gateway.runtime.store import ExecutionStore
from gateway.runtime.workflows import WorkflowCatalog
from tests.api.conftest import make_api  # noqa: F401 - the API fixture, for the route tests
from tests.runtime.harness import Clock, make_config


def knowledge_config(config: GatewayConfig, **changes: object) -> GatewayConfig:
    """``config`` with ``[knowledge]`` settings changed."""
    knowledge = KnowledgeConfig.model_validate(config.knowledge.model_dump() | changes)
    return config.model_copy(update={"knowledge": knowledge})


@pytest.fixture
def config(tmp_path: Path) -> GatewayConfig:
    return make_config(tmp_path)


class Runtime:
    """The gateway and an executor on a settable clock with the shipped actions and, unless
    told otherwise, ``kb.publish``."""

    def __init__(self, config: GatewayConfig, clock: Clock, *, knowledge: bool = True) -> None:
        self.config = config
        self.clock = clock
        self.gateway = Gateway.from_config(config)
        embedded = config.runtime.embedded_systems
        self.directory = EmbeddedDirectoryActions(embedded / "directory.db", self.gateway.directory)
        self.devices = EmbeddedDeviceManager(embedded / "devices.db")
        actions = ActionRegistry(
            [
                *directory_actions(self.gateway.directory, self.directory),
                *software_actions(self.devices),
                *notification_actions(build_notifier(config.notifications)),
                *(
                    knowledge_actions(partial(open_knowledge, config.knowledge))
                    if knowledge
                    else []
                ),
            ]
        )
        audit = self.gateway.audit
        self.executor = Executor(
            self.gateway,
            WorkflowCatalog.load(config.runtime.workflows, actions),
            actions,
            ExecutionStore(config.runtime.database),
            audit=None if audit is None else audit.append,
            settings=RuntimeSettings(workers=4),
            clock=clock,
        )

    def run(self, workflow: str, actor: str, **parameters: object) -> Execution:
        started = self.executor.start(workflow, parameters, actor=actor, channel="cli")
        return self.executor.advance(started.id)

    def close(self) -> None:
        self.executor.close()
        self.devices.close()
        self.directory.close()
        self.gateway.close()


@pytest.fixture
def runtime(config: GatewayConfig) -> Iterator[Runtime]:
    world = Runtime(config, Clock())
    yield world
    world.close()


@pytest.fixture
def base(config: GatewayConfig) -> Iterator[KnowledgeBase]:
    opened = open_knowledge(config.knowledge)
    yield opened
    opened.close()
