"""Reloading the bundle: a good change takes effect, a bad one is refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.errors import PolicyBundleError
from gateway.policy.store import PolicyStore

NEW_POLICY = """
@id("kb-publish-technicians")
permit (principal in Group::"field-technicians", action == Action::"kb.publish", resource);
"""


def test_a_valid_change_is_put_in_force_with_a_new_digest(bundle_copy: Path) -> None:
    store = PolicyStore(bundle_copy)
    before = store.engine.digest

    (bundle_copy / "cedar" / "extra.cedar").write_text(NEW_POLICY)
    outcome = store.reload_if_changed()

    assert outcome.changed
    assert outcome.error is None
    assert outcome.digest == store.engine.digest != before
    assert "kb-publish-technicians" in store.engine.cedar.policies


def test_an_invalid_change_is_refused_and_the_last_good_bundle_stays(bundle_copy: Path) -> None:
    store = PolicyStore(bundle_copy)
    good = store.engine

    broken = bundle_copy / "cedar" / "broken.cedar"
    broken.write_text('@id("x")\npermit (principal, action, resource) when { principal.nope };\n')
    outcome = store.reload()

    assert not outcome.changed
    assert store.engine is good
    assert outcome.digest == good.digest
    assert outcome.error is not None
    assert any(p.file == str(broken) and p.line == 1 for p in outcome.error.problems)


def test_nothing_is_reloaded_when_no_file_changed(bundle_copy: Path) -> None:
    store = PolicyStore(bundle_copy)
    engine = store.engine

    assert not store.reload_if_changed().changed
    assert not store.reload().changed
    assert store.engine is engine


def test_a_bad_bundle_is_refused_at_first_load(bundle_copy: Path) -> None:
    (bundle_copy / "casbin" / "roles.csv").write_text("g, only-one-value\n")

    with pytest.raises(PolicyBundleError) as caught:
        PolicyStore(bundle_copy)

    (problem,) = caught.value.problems
    assert (problem.line, problem.message) == (1, "rule 'g' expects 2 values, found 1")


def test_the_watcher_puts_a_change_in_force(bundle_copy: Path) -> None:
    store = PolicyStore(bundle_copy)
    before = store.engine.digest
    store.start_watching(interval_seconds=0.05)
    try:
        with pytest.raises(RuntimeError, match="already being watched"):
            store.start_watching()
        (bundle_copy / "cedar" / "extra.cedar").write_text(NEW_POLICY)
        deadline = time.monotonic() + 30
        while store.engine.digest == before and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        store.stop_watching()
    store.stop_watching()  # stopping twice is harmless
    assert "kb-publish-technicians" in store.engine.cedar.policies


def test_a_removed_bundle_directory_is_refused(bundle_copy: Path, tmp_path: Path) -> None:
    store = PolicyStore(bundle_copy)
    bundle_copy.rename(tmp_path / "moved")

    outcome = store.reload_if_changed()

    assert not outcome.changed
    assert outcome.error is not None
    assert "policy bundle not found" in str(outcome.error)


def test_a_refused_bundle_is_not_loaded_again_until_it_changes(bundle_copy: Path) -> None:
    store = PolicyStore(bundle_copy)
    broken = bundle_copy / "cedar" / "broken.cedar"
    broken.write_text('@id("x") permit (principal, action, resource\n')

    first = store.reload_if_changed()
    second = store.reload_if_changed()
    broken.write_text(NEW_POLICY)
    third = store.reload_if_changed()

    assert first.error is not None
    assert second is first
    assert third.changed
    assert third.error is None
