"""Erasing a person in the approval store (on both backends): the free text of finished
requests by or about them becomes ``(erased)``; pending requests, other people's requests,
what the gateway itself put in the context, and the store's own reads stay right."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.policy.request import AccessRequest
from gateway.storage import Backend
from tests.approvals import Harness, access


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    harness = Harness(tmp_path, storage_backend)
    yield harness
    harness.close()


def _with_freeze(request: AccessRequest) -> AccessRequest:
    return request.model_copy(update={"context": {**request.context, "change_freeze": False}})


def test_finished_requests_about_a_person_lose_their_free_text(h: Harness) -> None:
    about_alice = h.open(request=_with_freeze(access(note="Alice Smith is on leave")))
    by_alice = h.open(request=access(resource="account:henry", actor="alice", note="for Henry"))
    pending = h.open(request=access(note="Alice again"))
    others = h.open(request=access(resource="account:henry", note="Henry only"))
    h.service.approve(about_alice.id, "carol", digest=about_alice.digest)
    for item in (by_alice, others):
        h.service.approve(item.id, "mia", digest=item.digest)
    before = h.service.get(about_alice.id)
    with h.store.transaction(write=False) as tx:
        assert {item.id for item in tx.about("alice")} == {about_alice.id, by_alice.id, pending.id}
        assert tx.erase_about("alice", dry_run=True) == 2
    assert h.service.get(about_alice.id) == before  # a dry run changes nothing
    with h.store.transaction() as tx:
        assert tx.erase_about("alice") == 2
        assert tx.erase_about("alice") == 0
    erased = h.service.get(about_alice.id)  # read through the same store (and its cache)
    assert erased.request.context == {
        "channel": "(erased)", "parameters": "(erased)", "change_freeze": False,
    }  # fmt: skip
    assert erased.state.value == "approved"
    assert h.service.get(by_alice.id).request.context["parameters"] == "(erased)"
    assert h.service.get(pending.id).request.context == pending.request.context
    assert h.service.get(others.id).request.context == others.request.context
