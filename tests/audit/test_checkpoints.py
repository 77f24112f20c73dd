"""Signed checkpoints and Merkle proofs over a log file (gateway.audit.checkpoints)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.audit.checkpoints import (
    DEFAULT_LOG_NAME,
    build_tree,
    check_consistency,
    make_checkpoint,
    read_checkpoint,
    verify_log_file,
)
from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.audit.merkle import EMPTY_ROOT, ProofError, leaf_hash, verify_inclusion
from gateway.audit.note import open_checkpoint
from gateway.audit.records import AuditEvent
from gateway.errors import VerificationError
from tests.audit.conftest import SampleLog, lines_of, stepping_clock


def grow(log: SampleLog, count: int) -> None:
    with AuditLog(log.path, log.second, clock=stepping_clock()) as writer:
        for number in range(count):
            writer.append(AuditEvent(type="later.event", payload={"n": number}))


def test_a_checkpoint_is_a_signed_note_over_every_record(sample_log: SampleLog) -> None:
    note = make_checkpoint(sample_log.path, sample_log.second)
    checkpoint = open_checkpoint(note, [(DEFAULT_LOG_NAME, sample_log.second.public_key)])
    assert checkpoint.origin == DEFAULT_LOG_NAME
    assert checkpoint.size == 6
    assert checkpoint.root_hash == build_tree(sample_log.path).root()
    assert read_checkpoint(note) == checkpoint


@pytest.mark.parametrize("by", ["first", "second"])
def test_a_log_verifies_against_a_checkpoint_signed_by_a_key_of_its_chain(
    sample_log: SampleLog, by: str
) -> None:
    note = make_checkpoint(sample_log.path, getattr(sample_log, by))
    result = verify_log_file(sample_log.path, sample_log.first.public_key, checkpoint_note=note)
    assert result.checkpoint is not None
    assert result.checkpoint.size == result.report.records == 6
    assert result.report.checkpoint_size == 6


def test_a_log_that_grew_still_verifies_against_an_older_checkpoint(
    sample_log: SampleLog,
) -> None:
    note = make_checkpoint(sample_log.path, sample_log.first)
    grow(sample_log, 3)
    seen: list[int] = []
    result = verify_log_file(
        sample_log.path,
        sample_log.first.public_key,
        checkpoint_note=note,
        check_signatures=False,
        progress=seen.append,
    )
    assert result.report.records == 9
    assert seen[-1] == 9
    assert result.checkpoint is not None
    assert result.checkpoint.size == 6


def test_without_a_checkpoint_there_is_none_in_the_result(sample_log: SampleLog) -> None:
    result = verify_log_file(sample_log.path, sample_log.first.public_key)
    assert result.checkpoint is None
    assert result.report.records == 6


def test_a_checkpoint_under_another_name_is_signed_and_checked_under_that_name(
    sample_log: SampleLog,
) -> None:
    note = make_checkpoint(sample_log.path, sample_log.first, name="example.org/helpdesk")
    assert note.startswith("example.org/helpdesk\n6\n")
    result = verify_log_file(sample_log.path, sample_log.first.public_key, checkpoint_note=note)
    assert result.checkpoint is not None
    assert result.checkpoint.origin == "example.org/helpdesk"


def test_an_empty_log_has_a_checkpoint_of_the_empty_tree(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.write_bytes(b"")
    signer = Signer.generate()
    checkpoint = read_checkpoint(make_checkpoint(path, signer))
    assert (checkpoint.size, checkpoint.root_hash) == (0, EMPTY_ROOT)
    assert build_tree(path).size == 0


def test_every_record_has_an_inclusion_proof(sample_log: SampleLog) -> None:
    tree = build_tree(sample_log.path)
    lines = sample_log.lines
    assert tree.size == len(lines) == 6
    for size in range(1, 7):
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            verify_inclusion(leaf_hash(lines[index]), index, size, proof, tree.root(size))
    proof = tree.inclusion_proof(2, 6)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(lines[3]), 2, 6, proof, tree.root())


def test_a_later_checkpoint_is_consistent_with_an_earlier_one(sample_log: SampleLog) -> None:
    old = read_checkpoint(make_checkpoint(sample_log.path, sample_log.second))
    grow(sample_log, 5)
    new = read_checkpoint(make_checkpoint(sample_log.path, sample_log.second))
    proof = build_tree(sample_log.path).consistency_proof(old.size, new.size)
    check_consistency(old, new, proof)
    check_consistency(new, new, [])


def test_a_rewritten_history_is_inconsistent(sample_log: SampleLog) -> None:
    old = read_checkpoint(make_checkpoint(sample_log.path, sample_log.second))
    lines = lines_of(sample_log.path)
    sample_log.path.write_bytes(b"".join(line + b"\n" for line in [*lines[:2], *lines[3:]]))
    grow(sample_log, 5)
    new = read_checkpoint(make_checkpoint(sample_log.path, sample_log.second))
    proof = build_tree(sample_log.path).consistency_proof(old.size, new.size)
    with pytest.raises(VerificationError, match=r"^inconsistent checkpoints: ") as caught:
        check_consistency(old, new, proof)
    assert (caught.value.kind, caught.value.sequence) == ("inconsistent checkpoints", None)
    with pytest.raises(VerificationError, match="sizes out of order"):
        check_consistency(new, old, proof)


@pytest.mark.parametrize(
    ("note", "detail"),
    [
        pytest.param("", "not a signed note", id="empty"),
        pytest.param("garbage", "not a signed note", id="garbage"),
        pytest.param("origin\n5\n", "not a signed note", id="no signature block"),
        pytest.param("origin\nfive\nAAAA\n\n\u2014 x y\n", "tree size", id="a bad size"),
        pytest.param("origin\n05\n" + "A" * 44 + "\n\n", "tree size", id="a padded size"),
        pytest.param("origin\n5\n\n\u2014 x y\n", "expected at least 3", id="no root"),
        pytest.param("origin\n5\nAAAA\n\n\u2014 x y\n", "root hash is 3 bytes", id="short root"),
    ],
)
def test_reading_a_note_that_is_not_a_checkpoint_is_a_bad_checkpoint(
    note: str, detail: str
) -> None:
    with pytest.raises(VerificationError, match=detail) as caught:
        read_checkpoint(note)
    assert (caught.value.kind, caught.value.sequence) == ("bad checkpoint", None)
    assert str(caught.value).startswith("bad checkpoint: ")


def test_a_garbage_checkpoint_is_refused_before_the_log_is_read(sample_log: SampleLog) -> None:
    with pytest.raises(VerificationError) as caught:
        verify_log_file(sample_log.path, sample_log.first.public_key, checkpoint_note="junk")
    assert caught.value.kind == "bad checkpoint"


def test_a_checkpoint_with_an_altered_size_fails_its_signature(sample_log: SampleLog) -> None:
    grow(sample_log, 1)
    note = make_checkpoint(sample_log.path, sample_log.first)
    altered = note.replace("\n7\n", "\n6\n", 1)
    assert altered != note
    lines = lines_of(sample_log.path)
    sample_log.path.write_bytes(b"".join(line + b"\n" for line in lines[:6]))
    with pytest.raises(VerificationError) as caught:
        verify_log_file(sample_log.path, sample_log.first.public_key, checkpoint_note=altered)
    assert caught.value.kind == "checkpoint mismatch"  # the root of 6 records differs
    assert caught.value.sequence == 5
