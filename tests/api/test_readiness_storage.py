"""``GET /readyz`` on PostgreSQL: not ready (503 naming the storage) while the shared
database cannot be reached, ready again once it can."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import MakeApi
from tests.postgres import PostgresServer, storage_toml
from tests.reliability.partition import Partition

pytestmark = pytest.mark.postgresql


@pytest.fixture
def partition(postgres_server: PostgresServer) -> Iterator[Partition]:
    relay = Partition(postgres_server.port)
    yield relay
    relay.close()


def test_a_gateway_cut_from_its_database_is_not_ready_until_it_is_back(
    make_api: MakeApi,
    partition: Partition,
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
) -> None:
    monkeypatch.setenv("GATEWAY_TEST_DATABASE_URL", partition.dsn(postgres_server.dsn))
    api = make_api(storage_toml(prefix, "GATEWAY_TEST_DATABASE_URL", timeout_seconds=1))
    assert api.client.get("/readyz").status_code == 200

    partition.cut()
    response = api.client.get("/readyz")

    assert response.status_code == 503
    problem = response.json()
    assert problem["type"].endswith("not-ready")
    assert problem["checks"]["storage"].startswith("postgresql database unavailable: ")
    assert "password" not in problem["detail"]

    partition.heal()
    response = api.client.get("/readyz")
    assert response.status_code == 200, response.text
