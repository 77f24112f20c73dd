"""Every engine the store puts in force goes through the prepared step first (loading the
directory); a step that fails leaves the engine deciding as it always did."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import GatewayError
from gateway.identity.static import StaticDirectory
from gateway.policy.engine import PolicyEngine
from gateway.policy.request import AccessRequest
from gateway.policy.store import PolicyStore

EXTRA = '@id("prepare-extra")\nforbid (principal, action, resource) when { false };\n'
RESET = AccessRequest(actor="hank", action="password.reset", resource="account:alice")


def decide(store: PolicyStore, directory: StaticDirectory) -> bool:
    evaluation = store.engine.evaluate(
        RESET, directory.get_user("hank"), directory.get_resource("account", "alice")
    )
    return evaluation.rbac.allowed and evaluation.cedar.allowed


def test_the_engine_in_force_and_every_reloaded_one_are_prepared_before_serving(
    bundle_copy: Path, directory: StaticDirectory
) -> None:
    store = PolicyStore(bundle_copy)
    prepared: list[str] = []

    def load(engine: PolicyEngine) -> None:
        assert engine is not store.engine or not prepared  # a new one: before it serves
        prepared.append(engine.digest)
        listing = directory.listing()
        engine.load_directory(listing.users, listing.resources)

    store.prepare_engines(load)
    assert prepared == [store.engine.digest]
    assert decide(store, directory)
    assert store.engine.directory_decisions == 1

    (bundle_copy / "cedar" / "extra.cedar").write_text(EXTRA)
    outcome = store.reload_if_changed()

    assert outcome.changed
    assert prepared == [prepared[0], store.engine.digest]
    assert store.engine.directory_entities == len(store.engine.cedar.base) > 0
    assert decide(store, directory)
    assert store.engine.directory_decisions == 1


@pytest.mark.parametrize(
    "error",
    [GatewayError("directory unavailable"), ValueError("entity refused")],
    ids=["a directory error", "an entity Cedar refuses"],
)
def test_a_failed_step_leaves_the_new_engine_unloaded_and_deciding(
    bundle_copy: Path,
    directory: StaticDirectory,
    error: Exception,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = PolicyStore(bundle_copy)
    calls: list[str] = []

    def fail_on_reload(engine: PolicyEngine) -> None:
        calls.append(engine.digest)
        if len(calls) > 1:
            raise error
        listing = directory.listing()
        engine.load_directory(listing.users, listing.resources)

    store.prepare_engines(fail_on_reload)
    (bundle_copy / "cedar" / "extra.cedar").write_text(EXTRA)
    outcome = store.reload_if_changed()

    assert outcome.changed
    assert outcome.error is None
    assert store.engine.digest == calls[-1]
    assert store.engine.directory_entities == 0
    assert decide(store, directory)
    assert store.engine.directory_decisions == 0
    assert "engine not prepared" in caplog.text
