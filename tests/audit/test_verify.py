"""Verifying an audit log with the public key alone (gateway.audit.verify).

The tamper matrix edits a real log written by ``AuditLog`` (records 0-2 signed by the first
key, record 3 rotating to the second key, records 4-5 signed by the second key) and checks
that verification stops at the first bad record with the right kind of failure.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.audit.canonical import canonical_bytes
from gateway.audit.checkpoints import make_checkpoint, verify_log_file
from gateway.audit.keys import Signer, raw_public_key
from gateway.audit.merkle import EMPTY_ROOT, MerkleTree, leaf_hash
from gateway.audit.note import Checkpoint, sign_checkpoint
from gateway.audit.records import (
    GENESIS_PREV,
    KEY_ROTATED,
    AuditEvent,
    AuditRecord,
    parse_record,
    seal_record,
)
from gateway.audit.verify import RootAccumulator, find_rotation_to, verify_records
from gateway.errors import VerificationError
from tests.audit.conftest import (
    SampleLog,
    body_of,
    lines_of,
    reencode,
    verify_path,
    write_lines,
    write_sample_log,
)

TIME = datetime(2024, 6, 1, tzinfo=UTC)
ATTACKER = Signer.generate()
ATTACKER_HEX = raw_public_key(ATTACKER.public_key).hex()


def reseal(line: bytes, signer: Signer, **changes: object) -> bytes:
    """Re-sign a stored record with ``signer`` (and some changes) keeping seq and prev."""
    record = parse_record(line, 0)
    body = {**body_of(line), **changes}
    event = AuditEvent(
        type=str(body["type"]),
        actor=record.actor,
        action=record.action,
        resource=record.resource,
        decision_id=record.decision_id,
        policy_digest=record.policy_digest,
        payload=record.payload,
    )
    return seal_record(
        event, seq=int(body["seq"]), prev=str(body["prev"]), time=TIME, signer=signer
    ).line


def hash_of(line: bytes) -> str:
    return parse_record(line, 0).hash


# -- the tamper matrix ----------------------------------------------------------------------

Tamper = Callable[[SampleLog], str | None]  # edits the log; returns a checkpoint note to check


@dataclass(frozen=True)
class Case:
    says: str
    tamper: Tamper
    kind: str
    sequence: int | None


def edit(index: int, **changes: object) -> Tamper:
    def tamper(log: SampleLog) -> None:
        lines = log.lines
        lines[index] = reencode(lines[index], **changes)
        write_lines(log.path, lines)

    return tamper


def other_signature(log: SampleLog) -> str:
    return str(body_of(log.lines[1])["sig"])  # a valid signature, of another record


FIELD_EDITS: list[tuple[str, dict[str, object], str, str]] = [
    ("v", {"v": 2}, "malformed record", "is no longer a record"),
    ("seq", {"seq": 3}, "gap", "claims records are missing"),
    ("time", {"time": "2024-05-01T09:30:02.000001Z"}, "bad signature", "breaks its signature"),
    ("prev", {"prev": "f" * 64}, "broken chain", "breaks the hash chain"),
    ("type", {"type": "decision.reviewed"}, "bad signature", "breaks its signature"),
    ("actor", {"actor": "mallory"}, "bad signature", "breaks its signature"),
    ("action", {"action": "printer.reboot"}, "bad signature", "breaks its signature"),
    ("resource", {"resource": None}, "bad signature", "breaks its signature"),
    ("decision_id", {"decision_id": "d-9999"}, "bad signature", "breaks its signature"),
    (
        "policy_digest",
        {"policy_digest": "sha256:" + "d" * 64},
        "bad signature",
        "breaks its signature",
    ),
    ("payload", {"payload": {"items": 13}}, "bad signature", "breaks its signature"),
    ("redacted", {"redacted": ["payload.items"]}, "bad signature", "breaks its signature"),
    ("key_id", {"key_id": "0123456789abcdef"}, "unknown key", "names a key not in force"),
]
assert [name for name, *_ in FIELD_EDITS] + ["sig"] == [
    "v", "seq", "time", "prev", "type", "actor", "action", "resource",
    "decision_id", "policy_digest", "payload", "redacted", "key_id", "sig",
]  # fmt: skip


def delete(index: int) -> Tamper:
    def tamper(log: SampleLog) -> None:
        lines = log.lines
        del lines[index]
        write_lines(log.path, lines)

    return tamper


def insert_forged(log: SampleLog) -> None:
    lines = log.lines
    forged = reseal(lines[2], ATTACKER, prev=hash_of(lines[1]))
    forged = reencode(forged, key_id=log.first.key_id)  # claims the real key
    write_lines(log.path, [*lines[:2], forged, *lines[2:]])


def insert_renumbered(log: SampleLog) -> None:
    lines = log.lines
    forged = reseal(lines[1], log.first)  # even the real key cannot insert: seq 1 again
    write_lines(log.path, [*lines[:2], forged, *lines[2:]])


def swap(log: SampleLog) -> None:
    lines = log.lines
    lines[2], lines[3] = lines[3], lines[2]
    write_lines(log.path, lines)


def truncate_mid_record(log: SampleLog) -> None:
    data = log.path.read_bytes()
    log.path.write_bytes(data[: data.rindex(b"\n", 0, -1) + 40])


def truncate_with_checkpoint(log: SampleLog) -> str:
    note = make_checkpoint(log.path, log.first)
    write_lines(log.path, log.lines[:4])
    return note


def replay(index: int) -> Tamper:
    def tamper(log: SampleLog) -> None:
        lines = log.lines
        write_lines(log.path, [*lines, lines[index]])

    return tamper


def resign_with_another_key(log: SampleLog) -> None:
    lines = log.lines
    lines[2] = reseal(lines[2], ATTACKER)
    write_lines(log.path, lines)


def append_signed_by_retired_key(log: SampleLog) -> None:
    lines = log.lines
    event = AuditEvent(type="decision.made", actor="mallory", payload={"effect": "allow"})
    late = seal_record(event, seq=6, prev=hash_of(lines[5]), time=TIME, signer=log.first)
    write_lines(log.path, [*lines, late.line])


def checkpoint_by_another_key(log: SampleLog) -> str:
    return make_checkpoint(log.path, ATTACKER)


def checkpoint(size: int, root: Callable[[SampleLog], bytes]) -> Tamper:
    def tamper(log: SampleLog) -> str:
        claimed = Checkpoint("it-support-gateway/audit", size, root(log))
        return sign_checkpoint(claimed, claimed.origin, log.first.private_key)

    return tamper


def full_root(log: SampleLog) -> bytes:
    return MerkleTree.from_leaf_hashes(leaf_hash(line) for line in log.lines).root()


CASES = [
    *[
        Case(f"editing the {name} of record 2 {says}", edit(2, **change), kind, 2)
        for name, change, kind, says in FIELD_EDITS
    ],
    Case(
        "replacing the sig of record 2 by another record's breaks its signature",
        lambda log: edit(2, sig=other_signature(log))(log),
        "bad signature",
        2,
    ),
    Case("lowering the seq of record 2 puts it out of order", edit(2, seq=1), "out of order", 2),
    Case(
        "editing the actor of record 5 breaks its signature under the new key",
        edit(5, actor="mallory"),
        "bad signature",
        5,
    ),
    Case(
        "claiming the retired key for record 5 names a key no longer in force",
        lambda log: edit(5, key_id=log.first.key_id)(log),
        "unknown key",
        5,
    ),
    Case(
        "editing the new key named by the rotation record 3 breaks its signature",
        lambda log: edit(3, payload={**body_of(log.lines[3])["payload"], "new_key_id": "0" * 16})(
            log
        ),
        "bad signature",
        3,
    ),
    Case("deleting record 2 leaves a gap at 2", delete(2), "gap", 2),
    Case("deleting record 0 leaves a gap at 0", delete(0), "gap", 0),
    Case("deleting the rotation record leaves a gap at 3", delete(3), "gap", 3),
    Case(
        "inserting a forged record 2 fails its signature",
        insert_forged,
        "bad signature",
        2,
    ),
    Case(
        "inserting a validly signed copy of record 1 is out of order",
        insert_renumbered,
        "out of order",
        2,
    ),
    Case("swapping records 2 and 3 leaves a gap at 2", swap, "gap", 2),
    Case(
        "truncating inside record 5 leaves a malformed record 5",
        truncate_mid_record,
        "malformed record",
        5,
    ),
    Case(
        "truncating records 4-5 under a checkpoint is shorter than the checkpoint",
        truncate_with_checkpoint,
        "shorter than checkpoint",
        4,
    ),
    Case("replaying record 1 at the end is out of order", replay(1), "out of order", 6),
    Case("replaying the last record at the end is out of order", replay(5), "out of order", 6),
    Case(
        "re-signing record 2 with another key names an unknown key",
        resign_with_another_key,
        "unknown key",
        2,
    ),
    Case(
        "a record signed by the retired key after the rotation names an unknown key",
        append_signed_by_retired_key,
        "unknown key",
        6,
    ),
    Case(
        "a checkpoint signed by another key is a bad checkpoint",
        checkpoint_by_another_key,
        "bad checkpoint",
        None,
    ),
    Case(
        "a checkpoint with a wrong root is a checkpoint mismatch at its last record",
        checkpoint(6, lambda log: b"\x07" * 32),
        "checkpoint mismatch",
        5,
    ),
    Case(
        "a checkpoint claiming more records than the log is longer than the log",
        checkpoint(7, full_root),
        "shorter than checkpoint",
        6,
    ),
    Case(
        "a checkpoint claiming fewer records with the full root is a checkpoint mismatch",
        checkpoint(4, full_root),
        "checkpoint mismatch",
        3,
    ),
]


@pytest.mark.parametrize("case", [pytest.param(case, id=case.says) for case in CASES])
def test_tampering(sample_log: SampleLog, case: Case) -> None:
    assert verify_log_file(sample_log.path, sample_log.first.public_key).report.records == 6
    note = case.tamper(sample_log)
    with pytest.raises(VerificationError) as caught:
        verify_log_file(sample_log.path, sample_log.first.public_key, checkpoint_note=note)
    assert (caught.value.kind, caught.value.sequence) == (case.kind, case.sequence)
    where = f"record {case.sequence}: " if case.sequence is not None else ""
    assert str(caught.value).startswith(f"{where}{case.kind}: ")


def test_truncating_whole_records_without_a_checkpoint_goes_unnoticed(
    sample_log: SampleLog,
) -> None:
    """Why auditors keep checkpoints: a cut at a record boundary leaves a valid log."""
    write_lines(sample_log.path, sample_log.lines[:4])
    assert verify_path(sample_log.path, sample_log.first).records == 4


def test_the_log_must_be_verified_with_its_first_key(sample_log: SampleLog) -> None:
    with pytest.raises(VerificationError) as caught:
        verify_path(sample_log.path, sample_log.second)
    assert (caught.value.kind, caught.value.sequence) == ("unknown key", 0)


def test_a_non_canonical_base64_signature_does_not_verify(sample_log: SampleLog) -> None:
    lines = sample_log.lines
    sig = body_of(lines[2])["sig"]
    assert sig.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = sig[:-3] + alphabet[alphabet.index(sig[-3]) ^ 1] + "=="  # same 64 bytes
    assert base64.b64decode(twin) == base64.b64decode(sig)
    write_lines(sample_log.path, [*lines[:2], reencode(lines[2], sig=twin), *lines[3:]])
    with pytest.raises(VerificationError) as caught:
        verify_path(sample_log.path, sample_log.first)
    assert caught.value.sequence == 2
    assert caught.value.kind in {"malformed record", "bad signature"}


# -- what a successful verification reports ---------------------------------------------------


def test_a_valid_log_reports_its_size_head_keys_and_root(sample_log: SampleLog) -> None:
    seen: list[int] = []
    report = verify_path(sample_log.path, sample_log.first, progress=seen.append)
    lines = sample_log.lines
    assert report.records == 6
    assert seen == [1, 2, 3, 4, 5, 6]
    assert report.head_hash == hash_of(lines[-1])
    assert report.key_ids == (sample_log.first.key_id, sample_log.second.key_id)
    assert [raw_public_key(key) for key in report.rotated_keys] == [
        raw_public_key(sample_log.second.public_key)
    ]
    assert report.root == full_root(sample_log)
    assert report.checkpoint_size is None


def test_a_valid_log_matches_a_checkpoint_of_any_of_its_prefixes(sample_log: SampleLog) -> None:
    tree = MerkleTree.from_leaf_hashes(leaf_hash(line) for line in sample_log.lines)
    for size in range(1, 7):
        report = verify_path(sample_log.path, sample_log.first, checkpoint=(size, tree.root(size)))
        assert report.checkpoint_size == size
        assert report.records == 6


def test_an_empty_log_is_valid_and_has_the_empty_root() -> None:
    key = Signer.generate()
    report = verify_records([], key.public_key)
    assert (report.records, report.head_hash, report.root) == (0, GENESIS_PREV, EMPTY_ROOT)
    assert report.key_ids == (key.key_id,)


def test_a_checkpoint_of_size_zero_must_claim_the_empty_root() -> None:
    key = Signer.generate()
    with pytest.raises(VerificationError) as caught:
        verify_records([], key.public_key, checkpoint=(0, b"\x01" * 32))
    assert caught.value.kind == "checkpoint mismatch"


def rechain(lines: list[bytes], start: int) -> None:
    """Fix the ``prev`` of every record from ``start`` on, as a forger would."""
    for index in range(start, len(lines)):
        lines[index] = reencode(lines[index], prev=hash_of(lines[index - 1]))


def test_chain_only_verification_skips_ordinary_record_signatures(sample_log: SampleLog) -> None:
    lines = sample_log.lines
    lines[4] = reencode(lines[4], actor="mallory")
    rechain(lines, 5)
    write_lines(sample_log.path, lines)
    seen: list[int] = []
    report = verify_path(
        sample_log.path, sample_log.first, check_signatures=False, progress=seen.append
    )
    assert (report.records, seen) == (6, [1, 2, 3, 4, 5, 6])
    assert report.key_ids == (sample_log.first.key_id, sample_log.second.key_id)
    assert report.head_hash == hash_of(lines[5])
    assert report.root == full_root(sample_log)
    with pytest.raises(VerificationError) as caught:
        verify_path(sample_log.path, sample_log.first)
    assert (caught.value.kind, caught.value.sequence) == ("bad signature", 4)


def test_chain_only_verification_still_checks_the_signature_of_rotations(
    sample_log: SampleLog,
) -> None:
    lines = sample_log.lines
    lines[2] = reencode(lines[2], actor="mallory")
    rechain(lines, 3)
    write_lines(sample_log.path, lines)
    with pytest.raises(VerificationError) as caught:
        verify_path(sample_log.path, sample_log.first, check_signatures=False)
    assert (caught.value.kind, caught.value.sequence) == ("bad signature", 3)


def test_chain_only_verification_refuses_a_rotation_signed_by_another_key(
    sample_log: SampleLog,
) -> None:
    lines = sample_log.lines
    lines[3] = reseal(lines[3], ATTACKER)
    rechain(lines, 4)
    write_lines(sample_log.path, lines)
    with pytest.raises(VerificationError) as caught:
        verify_path(sample_log.path, sample_log.first, check_signatures=False)
    assert (caught.value.kind, caught.value.sequence) == ("unknown key", 3)


def test_chain_only_verification_is_not_fooled_by_a_payload_naming_a_rotation(
    tmp_path: Path,
) -> None:
    key = Signer.generate()
    records = chain(
        (AuditEvent(type="a", payload={"a": 1, "type": KEY_ROTATED}), key),
        (AuditEvent(type="b"), key),
    )
    assert b',"type":"audit.key_rotated"' in records[0].line
    report = verify_records([r.line for r in records], key.public_key, check_signatures=False)
    assert (report.records, report.key_ids) == (2, (key.key_id,))


@pytest.mark.parametrize(
    ("tamper", "kind", "sequence"),
    [
        pytest.param(delete(2), "gap", 2, id="a deleted record leaves a gap"),
        pytest.param(swap, "gap", 2, id="swapped records leave a gap"),
        pytest.param(replay(1), "out of order", 6, id="a replayed record is out of order"),
        pytest.param(edit(2, prev="e" * 64), "broken chain", 2, id="a wrong prev breaks the chain"),
        pytest.param(edit(2, seq="2"), "malformed record", 2, id="a string seq is malformed"),
        pytest.param(
            lambda log: write_lines(log.path, [*log.lines[:2], b"garbage", *log.lines[2:]]),
            "malformed record",
            2,
            id="a garbage line is malformed",
        ),
        pytest.param(
            truncate_with_checkpoint, "shorter than checkpoint", 4, id="a cut log is too short"
        ),
        pytest.param(
            checkpoint(6, lambda log: b"\x07" * 32),
            "checkpoint mismatch",
            5,
            id="a wrong checkpoint root is a mismatch",
        ),
    ],
)
def test_chain_only_verification_finds_broken_chains_and_checkpoints(
    sample_log: SampleLog, tamper: Tamper, kind: str, sequence: int
) -> None:
    note = tamper(sample_log)
    with pytest.raises(VerificationError) as caught:
        verify_log_file(
            sample_log.path,
            sample_log.first.public_key,
            checkpoint_note=note,
            check_signatures=False,
        )
    assert (caught.value.kind, caught.value.sequence) == (kind, sequence)


def _malformed_next_record(log: SampleLog, how: str) -> None:
    lines = log.lines
    event = AuditEvent(type="decision.made", actor="li", payload={"n": 1})
    line = seal_record(event, seq=6, prev=hash_of(lines[5]), time=TIME, signer=log.second).line
    if how == "torn":
        line = line[: line.index(b',"sig":') + 10]
    else:
        line = line.replace(b'"payload":{"n":1}', b'"payload":{"n":1.5}')
    write_lines(log.path, [*lines, line])


def test_chain_only_verification_still_refuses_a_torn_record(sample_log: SampleLog) -> None:
    _malformed_next_record(sample_log, "torn")
    with pytest.raises(VerificationError) as caught:
        verify_path(sample_log.path, sample_log.first, check_signatures=False)
    assert (caught.value.kind, caught.value.sequence) == ("malformed record", 6)


def test_chain_only_verification_leaves_the_form_of_records_to_full_verification(
    sample_log: SampleLog,
) -> None:
    _malformed_next_record(sample_log, "float")

    report = verify_path(sample_log.path, sample_log.first, check_signatures=False)

    assert report.records == 7, "chain-only checks links and roots, not each record's form"


@pytest.mark.parametrize("how", ["torn", "float"])
def test_full_verification_refuses_a_malformed_record(sample_log: SampleLog, how: str) -> None:
    _malformed_next_record(sample_log, how)
    with pytest.raises(VerificationError) as caught:
        verify_path(sample_log.path, sample_log.first)
    assert (caught.value.kind, caught.value.sequence) == ("malformed record", 6)


def test_without_signature_checks_a_broken_chain_is_still_found(sample_log: SampleLog) -> None:
    lines = sample_log.lines
    lines[2] = reencode(lines[2], actor="mallory")
    write_lines(sample_log.path, lines)
    with pytest.raises(VerificationError) as caught:
        verify_path(sample_log.path, sample_log.first, check_signatures=False)
    assert (caught.value.kind, caught.value.sequence) == ("broken chain", 3)


# -- rotation records must name a usable key --------------------------------------------------


def chain(*steps: tuple[AuditEvent, Signer]) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    for event, signer in steps:
        prev = records[-1].hash if records else GENESIS_PREV
        records.append(seal_record(event, seq=len(records), prev=prev, time=TIME, signer=signer))
    return records


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        pytest.param({}, "key rotation without a valid new_public_key", id="no new key"),
        pytest.param(
            {"new_public_key": "zz"}, "key rotation without a valid new_public_key", id="not hex"
        ),
        pytest.param(
            {"new_public_key": "00" * 31}, "key rotation without a valid new_public_key", id="short"
        ),
        pytest.param(
            {"new_public_key": raw_public_key(ATTACKER.public_key).hex(), "new_key_id": "0" * 16},
            "new_key_id does not match new_public_key",
            id="a key id of another key",
        ),
        pytest.param(
            {"new_public_key": raw_public_key(ATTACKER.public_key).hex()},
            "new_key_id does not match new_public_key",
            id="no key id",
        ),
        *[
            pytest.param(
                {"new_public_key": spelling, "new_key_id": ATTACKER.key_id},
                "key rotation without a valid new_public_key",
                id=name,
            )
            for name, spelling in [
                ("a new key with a trailing newline", ATTACKER_HEX + "\n"),
                ("a new key with a leading space", " " + ATTACKER_HEX),
                ("a new key with a space inside", ATTACKER_HEX[:32] + " " + ATTACKER_HEX[32:]),
                ("a new key with a fullwidth digit", "\uff10" + ATTACKER_HEX[1:]),
                ("a new key as a number", int(ATTACKER_HEX, 16) % 2**53),
            ]
        ],
    ],
)
def test_a_rotation_record_without_a_usable_new_key_is_malformed(
    payload: dict[str, object], detail: str
) -> None:
    key = Signer.generate()
    records = chain(
        (AuditEvent(type="a"), key),
        (AuditEvent(type=KEY_ROTATED, payload=payload), key),
    )
    with pytest.raises(VerificationError, match=f"^record 1: malformed record: {detail}$") as c:
        verify_records([record.line for record in records], key.public_key)
    assert c.value.sequence == 1


def test_a_rotation_may_spell_the_new_key_in_upper_case_hex() -> None:
    key = Signer.generate()
    upper = {"new_key_id": ATTACKER.key_id, "new_public_key": ATTACKER_HEX.upper()}
    records = chain(
        (AuditEvent(type=KEY_ROTATED, payload=upper), key),
        (AuditEvent(type="after"), ATTACKER),
    )

    report = verify_records([record.line for record in records], key.public_key)

    assert report.key_ids == (key.key_id, ATTACKER.key_id)


def test_a_wrong_pinned_key_names_the_log_first_key_and_the_key_given(
    sample_log: SampleLog,
) -> None:
    with pytest.raises(VerificationError) as caught:
        verify_path(sample_log.path, ATTACKER)

    assert str(caught.value) == (
        f"record 0: unknown key: this log's first key is {sample_log.first.key_id}; the key "
        f"given is {ATTACKER.key_id}; pin the log's first key, verification follows its "
        "rotations"
    )


def test_a_pinned_key_the_log_rotated_to_is_named_with_its_rotation_record(
    sample_log: SampleLog,
) -> None:
    with pytest.raises(VerificationError) as caught:
        verify_log_file(sample_log.path, sample_log.second.public_key)

    assert (caught.value.kind, caught.value.sequence) == ("unknown key", 0)
    assert str(caught.value) == (
        f"record 0: unknown key: this log's first key is {sample_log.first.key_id}; the key "
        f"given is {sample_log.second.key_id}, which record 3 rotated to; pin the log's "
        "first key, verification follows its rotations"
    )


def test_keys_can_rotate_more_than_once() -> None:
    keys = [Signer.generate() for _ in range(3)]

    def rotate(to: Signer) -> AuditEvent:
        new_key = {"new_key_id": to.key_id, "new_public_key": raw_public_key(to.public_key).hex()}
        return AuditEvent(type=KEY_ROTATED, payload=new_key)

    records = chain(
        (AuditEvent(type="a"), keys[0]),
        (rotate(keys[1]), keys[0]),
        (rotate(keys[2]), keys[1]),
        (AuditEvent(type="b"), keys[2]),
    )
    report = verify_records([record.line for record in records], keys[0].public_key)
    assert report.key_ids == tuple(key.key_id for key in keys)


# -- the Merkle root is computed in constant memory -------------------------------------------


def test_the_streaming_root_equals_the_merkle_tree_root_for_every_size() -> None:
    accumulator, tree = RootAccumulator(), MerkleTree()
    assert accumulator.root() == tree.root() == EMPTY_ROOT
    for index in range(70):
        leaf = leaf_hash(index.to_bytes(2, "big"))
        accumulator.add(leaf)
        tree.append(leaf)
        assert (accumulator.size, accumulator.root()) == (tree.size, tree.root())


# -- any single changed byte is noticed -------------------------------------------------------


def _small_log() -> bytes:
    key = SMALL_KEY
    events = [
        AuditEvent(type="a", actor="elena", payload={"n": 1, "s": "caf\u00e9"}),
        AuditEvent(type="b.c", resource="r:1", payload={"l": [True, None]}),
        AuditEvent(type="d", decision_id="d-3"),
    ]
    return b"".join(record.line + b"\n" for record in chain(*((e, key) for e in events)))


def _lines(data: bytes) -> Iterator[bytes]:
    """Lines as ``read_lines`` gives them from a file holding ``data``."""
    for raw in io.BytesIO(data):
        yield raw[:-1] if raw.endswith(b"\n") else raw


SMALL_KEY = Signer.generate()
SMALL_LOG = _small_log()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(0, len(SMALL_LOG) - 1), value=st.integers(0, 255))
def test_any_single_changed_byte_makes_verification_fail(position: int, value: int) -> None:
    if SMALL_LOG[position] == value:
        value ^= 0x01
    changed = bytearray(SMALL_LOG)
    changed[position] = value
    assert verify_records(_lines(SMALL_LOG), SMALL_KEY.public_key).records == 3
    with pytest.raises(VerificationError) as caught:
        verify_records(_lines(bytes(changed)), SMALL_KEY.public_key)
    assert caught.value.sequence is not None
    assert 0 <= caught.value.sequence <= SMALL_LOG[:position].count(b"\n") + 1


def test_the_sample_log_verifies(tmp_path: Path) -> None:
    log = write_sample_log(tmp_path / "a.log")
    assert verify_path(log.path, log.first).records == len(lines_of(log.path)) == 6
    assert canonical_bytes(body_of(log.lines[0])) == log.lines[0]


def test_chain_only_parses_a_line_with_a_record_outline_but_no_links() -> None:
    key = Signer.generate()

    with pytest.raises(VerificationError) as caught:
        verify_records([b'{"action":null,"v":1}'], key.public_key, check_signatures=False)

    assert (caught.value.kind, caught.value.sequence) == ("malformed record", 0)


def test_finding_the_rotation_to_a_key_skips_unreadable_lines_and_other_rotations(
    sample_log: SampleLog,
) -> None:
    lines = sample_log.lines
    other = Signer.generate()
    to_other = {
        "new_key_id": other.key_id,
        "new_public_key": raw_public_key(other.public_key).hex(),
    }
    records = chain((AuditEvent(type=KEY_ROTATED, payload=to_other), sample_log.first))
    broken = b'{"action":null,"type":"audit.key_rotated","v":1'

    found = find_rotation_to([records[0].line, broken, *lines], sample_log.second.key_id)

    assert found == 2 + 3
    assert find_rotation_to([records[0].line, broken], sample_log.second.key_id) is None
