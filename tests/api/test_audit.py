"""Audit proofs over HTTP: what an auditor fetches verifies with the public key alone."""

from __future__ import annotations

import base64
import fcntl
import os
import resource
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gateway.api.audit_snapshot import committed_size, record_lines
from gateway.audit.checkpoints import check_consistency, open_signed_checkpoint
from gateway.audit.keys import load_public_key
from gateway.audit.log import read_lines
from gateway.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from gateway.audit.records import AuditEvent
from tests.api.conftest import Api, MakeApi

RESET = {"actor": "elena", "action": "password.reset", "resource": "account:tom"}


def decide(api: Api, times: int) -> None:
    service = api.as_service("decisions:write")
    for _ in range(times):
        assert api.client.post("/v1/decisions", json=RESET, headers=service).status_code == 200


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def test_a_checkpoint_verifies_with_the_public_key_and_covers_every_record(api: Api) -> None:
    decide(api, 3)
    auditor = api.as_service("audit:read")

    response = api.client.get("/v1/audit/checkpoint", headers=auditor)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    public = load_public_key(api.config.audit.signing_key.with_name("audit-signing.pub"))
    checkpoint = open_signed_checkpoint(response.text, [public], origin=api.config.audit.name)
    assert checkpoint.size == len(api.audit_records()) == 3


def test_an_inclusion_proof_verifies(api: Api) -> None:
    decide(api, 5)
    lines = list(read_lines(api.config.audit.log))

    response = api.client.get(
        "/v1/audit/proofs/inclusion?index=2&size=5", headers=api.as_service("audit:read")
    )

    proof = response.json()
    assert b64(proof["leaf_hash"]) == leaf_hash(lines[2])
    verify_inclusion(
        leaf_hash(lines[2]), 2, 5, [b64(item) for item in proof["proof"]], b64(proof["root_hash"])
    )


def test_a_consistency_proof_links_two_checkpoints(api: Api) -> None:
    auditor = api.as_service("audit:read")
    decide(api, 2)
    old_note = api.client.get("/v1/audit/checkpoint", headers=auditor).text
    decide(api, 3)
    new_note = api.client.get("/v1/audit/checkpoint", headers=auditor).text

    proof = api.client.get("/v1/audit/proofs/consistency?old=2&new=5", headers=auditor).json()

    public = load_public_key(api.config.audit.signing_key.with_name("audit-signing.pub"))
    old = open_signed_checkpoint(old_note, [public])
    new = open_signed_checkpoint(new_note, [public])
    check_consistency(old, new, [b64(item) for item in proof["proof"]])
    assert (b64(proof["old_root"]), b64(proof["new_root"])) == (old.root_hash, new.root_hash)


def test_a_proof_from_the_empty_tree_is_empty(api: Api) -> None:
    decide(api, 1)

    proof = api.client.get(
        "/v1/audit/proofs/consistency?old=0&new=1", headers=api.as_service("audit:read")
    ).json()

    assert proof["proof"] == []
    verify_consistency(0, 1, b64(proof["old_root"]), b64(proof["new_root"]), [])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("inclusion?index=0&size=9", "size"),
        ("inclusion?index=2&size=2", "index"),
        ("consistency?old=0&new=9", "new"),
        ("consistency?old=2&new=1", "old"),
        ("inclusion?index=-1&size=1", "index"),
    ],
    ids=["a size beyond the log", "an index outside the size", "a new size beyond the log",
         "an old size above the new one", "a negative index"],
)  # fmt: skip
def test_proofs_out_of_range_are_422_naming_the_field(api: Api, query: str, field: str) -> None:
    decide(api, 2)

    response = api.client.get(f"/v1/audit/proofs/{query}", headers=api.as_service("audit:read"))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_audit_routes_answer_404_when_auditing_is_off(make_api: MakeApi) -> None:
    api = make_api("[audit]\nunsafe_no_audit = true\n")

    response = api.client.get("/v1/audit/checkpoint", headers=api.as_service("audit:read"))

    assert response.status_code == 404
    assert response.json()["type"] == "urn:it-support-gateway:problem:audit-disabled"


def test_a_snapshot_waits_while_an_append_holds_the_log(api: Api) -> None:
    decide(api, 2)
    log = api.config.audit.log
    sizes: list[int] = []
    with log.open("rb") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)  # as an append in progress does
        reader = threading.Thread(target=lambda: sizes.append(committed_size(log)))
        reader.start()
        reader.join(timeout=0.2)
        waiting = reader.is_alive()
        fcntl.flock(writer.fileno(), fcntl.LOCK_UN)
    reader.join()

    assert waiting
    assert sizes == [log.stat().st_size]


def test_a_snapshot_stops_at_the_size_it_was_taken_at(api: Api) -> None:
    decide(api, 2)
    log = api.config.audit.log
    size = committed_size(log)
    assert api.gateway.audit is not None
    api.gateway.audit.append(AuditEvent(type="test.event"))

    assert len(list(record_lines(log, size))) == 2
    assert len(list(record_lines(log, committed_size(log)))) == 3


DISK_FULL = Path("/dev/full")  # reads give endless zeros, writes fail for lack of space


@contextmanager
def memory_capped(extra_bytes: int) -> Iterator[None]:
    """At most ``extra_bytes`` more address space for this process: a request that reads
    without limit fails with ``MemoryError`` instead of taking the machine's memory."""
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (pages * os.sysconf("SC_PAGE_SIZE") + extra_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.skipif(not DISK_FULL.exists(), reason="no /dev/full here")
def test_audit_routes_over_a_log_on_a_full_device_refuse_at_a_small_bounded_cost(
    make_api: MakeApi,
) -> None:
    api = make_api(f'[audit]\nlog = "{DISK_FULL}"\n')
    auditor = api.as_service("audit:read")
    routes = ["/v1/audit/checkpoint", "/v1/audit/proofs/consistency?old=0&new=0"]

    tracemalloc.start()
    try:
        with memory_capped(256 * 1024 * 1024):
            answers = [api.client.get(routes[n % 2], headers=auditor) for n in range(60)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert {(answer.status_code, answer.json()["type"]) for answer in answers} == {
        (503, "urn:it-support-gateway:problem:audit-unavailable")
    }
    assert answers[0].json()["detail"] == f"{DISK_FULL}: audit log is not a regular file"
    assert peak < 4 * 1024 * 1024


def test_a_checkpoint_reads_no_further_than_the_committed_size(api: Api) -> None:
    decide(api, 2)
    log = api.config.audit.log
    size = committed_size(log)
    with log.open("ab") as handle:  # a record being written, no newline yet
        handle.write(b"x" * 100_000)

    assert len(list(record_lines(log, size))) == 2
    assert len(list(record_lines(log, size - 1))) == 1
