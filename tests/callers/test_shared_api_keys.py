"""Two gateways on one storage backend (two servers on one PostgreSQL; on SQLite, two on one
host sharing the key file): a key made through one works on the other, and a key revoked
with ``gateway callers api-key revoke`` is refused by both servers at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.storage.settings import StorageSettings
from tests.api.conftest import Api, build_api


def _storage_table(settings: StorageSettings, monkeypatch: pytest.MonkeyPatch) -> str:
    if settings.backend == "sqlite":
        return ""
    assert settings.dsn is not None
    monkeypatch.setenv("API_KEYS_TEST_DSN", settings.dsn.get_secret_value())
    return (
        '[storage]\nbackend = "postgresql"\ndsn_env = "API_KEYS_TEST_DSN"\n'
        f'schema_prefix = "{settings.schema_prefix}"\npool_size = 4\n'
    )


@pytest.fixture
def servers(
    tmp_path: Path, storage_settings: StorageSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[Api]]:
    table = _storage_table(storage_settings, monkeypatch)
    shared = tmp_path / "shared-api-keys.db"
    made = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        keys = f'[api]\napi_keys = "{shared}"\n' if not table else ""  # one host's file
        signing = f'[audit]\nsigning_key = "{tmp_path / "keys" / "audit-signing.key"}"\n'
        made.append(build_api(folder, table + keys + signing))
    yield made
    for api in made:
        api.close()


def _metrics(api: Api, key: str) -> int:
    return api.client.get("/metrics", headers={"X-API-Key": key}).status_code


def test_a_key_revoked_through_one_gateway_is_refused_by_the_other_at_once(
    servers: list[Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = servers
    key = first.key("metrics:read", name="auditor")
    other = first.key("metrics:read", name="spare")
    assert [_metrics(api, key) for api in servers * 2] == [200] * 4  # each remembers it
    assert _metrics(second, other) == 200

    monkeypatch.chdir(first.config.audit.log.parent.parent)  # the first gateway's folder
    revoked = CliRunner().invoke(
        cli, ["callers", "api-key", "revoke", "auditor", "--by", "omar"], prog_name="gateway"
    )
    assert revoked.exit_code == 0, revoked.stderr

    refused = second.client.get("/metrics", headers={"X-API-Key": key})
    assert refused.status_code == 401
    assert "is revoked" in refused.text
    assert _metrics(first, key) == 401
    assert _metrics(second, other) == 200
