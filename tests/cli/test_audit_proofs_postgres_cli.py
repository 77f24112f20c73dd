"""``gateway audit checkpoint``, ``prove`` and ``consistency`` on a gateway whose audit
log is in PostgreSQL: without ``--log`` they read the configured (shared) log, and say
what they say of its export as a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_audit_postgres_cli import invoke, workdir

pytestmark = pytest.mark.postgresql

__all__ = ["workdir"]  # the fixture, shared with the other command-line tests on PostgreSQL


def test_checkpoints_and_proofs_read_the_shared_log_without_a_file(workdir: Path) -> None:
    for actor in ("tom", "elena", "tom"):
        code, _, err = invoke(
            "authorize", "--actor", actor, "--action", "password.reset", "--resource", "account:tom"
        )
        assert code == 0, err
    code, out, err = invoke("audit", "export", "--output", "exported.jsonl", "--json")
    assert code == 0, err
    size = json.loads(out)["records"]
    assert size >= 3
    key = str(workdir / "keys" / "audit-signing.key")  # the gateway's own, for the test

    def both(*args: str) -> tuple[str, str]:
        shared = invoke("audit", *args)
        exported = invoke("audit", *args, "--log", "exported.jsonl")
        assert shared[0] == 0, shared[2]
        assert exported[0] == 0, exported[2]
        return shared[1], exported[1]

    proof, proof_of_file = both("prove", "--index", "1", "--size", str(size), "--json")
    assert proof == proof_of_file
    assert json.loads(proof)["size"] == size
    grown, grown_of_file = both("consistency", "--from", "1", "--to", str(size), "--json")
    assert grown == grown_of_file
    assert json.loads(grown)["new_root"] == json.loads(proof)["root_hash"]
    note, note_of_file = both("checkpoint", "--key", key, "--name", "example.org/gateway")
    assert note == note_of_file, "the same tree, signed alike (Ed25519 is deterministic)"
    assert note.splitlines()[:2] == ["example.org/gateway", str(size)]
