"""Fixtures for policy tests: the shipped bundle, editable copies of it, and a gateway."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.identity.static import StaticDirectory
from gateway.policy.request import AccessRequest
from gateway.policy.store import PolicyStore

REPO = Path(__file__).resolve().parents[2]
SHIPPED_POLICIES = REPO / "policies"
TEST_DIRECTORY = SHIPPED_POLICIES / "tests" / "directory.yaml"


@pytest.fixture
def bundle_copy(tmp_path: Path) -> Path:
    """An editable copy of the shipped policy bundle."""
    target = tmp_path / "policies"
    shutil.copytree(SHIPPED_POLICIES, target)
    return target


@pytest.fixture(scope="session")
def directory() -> StaticDirectory:
    return StaticDirectory.load(TEST_DIRECTORY)


@pytest.fixture(scope="session")
def gateway(directory: StaticDirectory) -> Gateway:
    return Gateway(PolicyStore(SHIPPED_POLICIES), directory)


Ask = Callable[..., AccessRequest]


@pytest.fixture
def ask() -> Ask:
    def build(actor: str, action: str, resource: str, **context: object) -> AccessRequest:
        return AccessRequest.model_validate(
            {"actor": actor, "action": action, "resource": resource, "context": context}
        )

    return build
