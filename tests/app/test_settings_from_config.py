"""The services are built from the configuration's own tables: the ``[identity]``,
``[stepup]`` and ``[runtime]`` tables are the resolver's, step-up's and the executor's
settings, with nothing copied on the way."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.app import Gateway, build_directory, open_runtime
from gateway.config import load_config
from gateway.identity.resolver import IdentityResolver
from tests.connector_tables import UNSET

REPO = Path(__file__).resolve().parents[2]


def test_the_identity_table_sets_the_resolver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(UNSET, "00-token")
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[identity]\nsources = ["static", "okta"]\nttl_seconds = 5.0\nmax_entries = 10\n'
        f'[identity.okta]\nbase_url = "https://example.okta.com"\ntoken_env = "{UNSET}"\n',
        encoding="utf-8",
    )
    config = load_config(path)

    directory = build_directory(config.identity)

    assert isinstance(directory, IdentityResolver)
    assert (directory.settings.ttl_seconds, directory.settings.max_entries) == (5.0, 10)


def test_the_stepup_and_runtime_tables_set_their_services(tmp_path: Path) -> None:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[stepup]\nissuer = "Example Corp"\nmax_failures = 3\n'
        '[runtime]\nsystem_actor = "svc-runner"\nworkers = 2\nmax_attempts = 7\n',
        encoding="utf-8",
    )
    config = load_config(path)
    gateway = Gateway.from_config(config)
    executor = open_runtime(config, gateway)
    try:
        assert gateway.stepup is not None
        assert (gateway.stepup.settings.issuer, gateway.stepup.settings.max_failures) == (
            "Example Corp",
            3,
        )
        settings = executor.settings
        assert (settings.system_actor, settings.workers, settings.max_attempts) == (
            "svc-runner",
            2,
            7,
        )
    finally:
        executor.close()
        gateway.close()
