"""``gateway keys`` and ``gateway audit`` as an operator and an auditor use them."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway", input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_keys_init_writes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    code, out, _ = invoke("keys", "init", "--dir", str(tmp_path / "k"), "--name", "corp/audit")

    private = tmp_path / "k" / "audit-signing.key"
    assert code == 0
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (tmp_path / "k" / "audit-signing.pub").read_text().startswith("-----BEGIN PUBLIC KEY")
    assert "verifier key corp/audit+" in out
    assert private.read_text() not in out


def test_keys_init_refuses_to_replace_a_key(keys: Path) -> None:
    code, _, err = invoke("keys", "init", "--dir", str(keys))

    assert code == 4
    assert "a key already exists (use --force to replace it)" in err


def test_keys_init_json_names_the_key(tmp_path: Path) -> None:
    code, out, _ = invoke("keys", "init", "--dir", str(tmp_path / "k"), "--json")

    result = json.loads(out)
    assert code == 0
    assert len(result["key_id"]) == 16
    assert result["verifier_key"].startswith("it-support-gateway/audit+")


def test_a_recorded_log_verifies_with_the_public_key(log: Path, keys: Path) -> None:
    code, out, _ = invoke(
        "audit", "verify", "--log", str(log), "--key", str(keys / "audit-signing.pub")
    )

    assert code == 0
    assert out.startswith("ok: 3 records, head ")


def test_verify_names_the_first_bad_record(log: Path, keys: Path) -> None:
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"omar"', b'"mallory"')
    log.write_bytes(b"".join(lines))

    code, out, _ = invoke(
        "audit", "verify", "--log", str(log), "--key", str(keys / "audit-signing.pub"), "--json"
    )

    assert code == 1
    result = json.loads(out)
    assert (result["valid"], result["sequence"], result["kind"]) == (False, 1, "bad signature")


def test_verify_with_a_checkpoint_and_a_truncated_log(
    log: Path, keys: Path, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "cp.txt"
    code, _, _ = invoke(
        "audit", "checkpoint", "--log", str(log), "--key", str(keys / "audit-signing.key"),
        "--out", str(checkpoint),
    )  # fmt: skip
    assert code == 0
    public = str(keys / "audit-signing.pub")

    assert (
        invoke(
            "audit", "verify", "--log", str(log), "--key", public, "--checkpoint", str(checkpoint)
        )[0]
        == 0
    )
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:2]))
    code, _, err = invoke(
        "audit", "verify", "--log", str(log), "--key", public, "--checkpoint", str(checkpoint)
    )

    assert code == 1
    assert (
        "record 2: shorter than checkpoint: the log has 2 records, the checkpoint commits to 3"
        in err
    )


def test_checkpoint_to_stdout_is_a_signed_note(log: Path, keys: Path) -> None:
    code, out, _ = invoke(
        "audit", "checkpoint", "--log", str(log), "--key", str(keys / "audit-signing.key")
    )

    body, _, signature = out.partition("\n\n")
    assert code == 0
    assert body.splitlines()[:2] == ["it-support-gateway/audit", "3"]
    assert signature.startswith("\u2014 it-support-gateway/audit ")


def test_chain_only_verification_says_signatures_were_not_checked(log: Path, keys: Path) -> None:
    code, out, _ = invoke(
        "audit", "verify", "--log", str(log), "--key", str(keys / "audit-signing.pub"),
        "--chain-only", "--json",
    )  # fmt: skip

    assert code == 0
    assert json.loads(out)["signatures_checked"] is False


def test_prove_and_consistency(log: Path) -> None:
    code, out, _ = invoke(
        "audit", "prove", "--log", str(log), "--index", "1", "--size", "3", "--json"
    )
    proof = json.loads(out)
    assert code == 0
    assert (proof["index"], proof["size"], len(proof["proof"])) == (1, 3, 2)

    code, out, _ = invoke("audit", "consistency", "--log", str(log), "--from", "2", "--to", "3")
    assert code == 0
    assert out.splitlines()[0:2] == ["from: 2", "to: 3"]
    assert out.splitlines()[4] == "proof:"


@pytest.mark.parametrize(
    "args",
    [["prove", "--index", "3", "--size", "3"], ["consistency", "--from", "2", "--to", "9"]],
    ids=["an index outside the tree", "a size beyond the log"],
)
def test_proofs_outside_the_log_are_refused(log: Path, args: list[str]) -> None:
    code, _, err = invoke("audit", *args[:1], "--log", str(log), *args[1:])

    assert code == 4
    assert "the log has 3 records" in err


def test_record_reads_the_event_from_stdin_and_redacts_secrets(log: Path, keys: Path) -> None:
    event = {"type": "manual.action", "actor": "elena", "payload": {"temp_password": "S3cret!x"}}

    code, out, _ = invoke(
        "audit", "record", "--log", str(log), "--key", str(keys / "audit-signing.key"), "--json",
        stdin=json.dumps(event),
    )  # fmt: skip

    assert code == 0
    assert json.loads(out)["redacted"] == ["payload.temp_password"]
    assert b"S3cret!x" not in log.read_bytes()


def test_record_names_the_invalid_field(log: Path, keys: Path) -> None:
    code, _, err = invoke(
        "audit", "record", "--log", str(log), "--key", str(keys / "audit-signing.key"),
        "--event", '{"type": "Not A Type"}',
    )  # fmt: skip

    assert code == 4
    assert err.startswith("error: --event: type: String should match pattern")


def test_a_missing_key_is_named(log: Path, tmp_path: Path) -> None:
    code, _, err = invoke("audit", "verify", "--log", str(log), "--key", str(tmp_path / "nope.pub"))

    assert code == 4
    assert "nope.pub: cannot read public key" in err


def test_an_unreadable_checkpoint_is_named(log: Path, keys: Path, tmp_path: Path) -> None:
    bad = tmp_path / "cp.bin"
    bad.write_bytes(b"\xff\xfe")

    code, _, err = invoke(
        "audit", "verify", "--log", str(log), "--key", str(keys / "audit-signing.pub"),
        "--checkpoint", str(bad),
    )  # fmt: skip

    assert code == 4
    assert "cp.bin: cannot read" in err


def test_every_audit_command_has_help() -> None:
    for command in ("verify", "checkpoint", "prove", "consistency", "record"):
        code, out, _ = invoke("audit", command, "--help")
        assert code == 0
        assert f"Usage: gateway audit {command}" in out
    assert invoke("keys", "init", "--help")[0] == 0


def test_a_rotated_log_verifies_from_the_original_key(
    log: Path, keys: Path, tmp_path: Path
) -> None:
    original = tmp_path / "original.pub"
    original.write_bytes((keys / "audit-signing.pub").read_bytes())
    old_private = (keys / "audit-signing.key").read_bytes()

    code, out, _ = invoke("keys", "rotate", "--log", str(log), "--dir", str(keys), "--json")
    rotation = json.loads(out)
    assert code == 0
    assert rotation["rotation_record"] == 3
    retired = keys / f"audit-signing.key.retired-{rotation['old_key_id']}"
    assert retired.read_bytes() == old_private
    event = '{"type": "manual.action", "actor": "elena"}'
    key = str(keys / "audit-signing.key")
    assert invoke("audit", "record", "--log", str(log), "--key", key, "--event", event)[0] == 0

    code, out, _ = invoke("audit", "verify", "--log", str(log), "--key", str(original), "--json")
    result = json.loads(out)
    assert code == 0
    assert result["records"] == 5
    assert result["key_ids"] == [rotation["old_key_id"], rotation["new_key_id"]]


def test_a_writer_holding_the_retired_key_is_refused(log: Path, keys: Path) -> None:
    assert invoke("keys", "rotate", "--log", str(log), "--dir", str(keys))[0] == 0
    (retired,) = keys.glob("audit-signing.key.retired-*")
    event = '{"type": "manual.action", "actor": "elena"}'
    before = log.read_bytes()

    code, _, err = invoke(
        "audit", "record", "--log", str(log), "--key", str(retired), "--event", event
    )

    assert code == 5
    assert "this writer holds" in err
    assert "(was the key rotated?)" in err
    assert log.read_bytes() == before


def test_an_auditor_proves_the_log_only_grew_from_two_checkpoints(
    log: Path, keys: Path, tmp_path: Path
) -> None:
    private, public = str(keys / "audit-signing.key"), str(keys / "audit-signing.pub")
    old, new, proof = tmp_path / "old.txt", tmp_path / "new.txt", tmp_path / "proof.json"
    assert (
        invoke("audit", "checkpoint", "--log", str(log), "--key", private, "--out", str(old))[0]
        == 0
    )
    event = '{"type": "manual.action", "actor": "omar"}'
    assert invoke("audit", "record", "--log", str(log), "--key", private, "--event", event)[0] == 0
    assert (
        invoke("audit", "checkpoint", "--log", str(log), "--key", private, "--out", str(new))[0]
        == 0
    )
    code, out, _ = invoke(
        "audit", "consistency", "--log", str(log), "--from", "3", "--to", "4", "--json"
    )
    proof.write_text(out)

    code, out, _ = invoke(
        "audit", "check-consistency", "--old", str(old), "--new", str(new),
        "--proof", str(proof), "--key", public,
    )  # fmt: skip

    assert code == 0
    assert out.strip() == "ok: the log at size 4 extends the log at size 3"


def test_a_rewritten_history_fails_the_consistency_check(
    log: Path, keys: Path, tmp_path: Path
) -> None:
    private, public = str(keys / "audit-signing.key"), str(keys / "audit-signing.pub")
    old, new, proof = tmp_path / "old.txt", tmp_path / "new.txt", tmp_path / "proof.json"
    assert (
        invoke("audit", "checkpoint", "--log", str(log), "--key", private, "--out", str(old))[0]
        == 0
    )
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0])  # history rewritten: the operator keeps record 0 only ...
    for actor in ("x", "y", "z"):  # ... and writes three new records after it
        event = json.dumps({"type": "manual.action", "actor": actor})
        assert (
            invoke("audit", "record", "--log", str(log), "--key", private, "--event", event)[0] == 0
        )
    assert (
        invoke("audit", "checkpoint", "--log", str(log), "--key", private, "--out", str(new))[0]
        == 0
    )
    proof.write_text(
        invoke("audit", "consistency", "--log", str(log), "--from", "3", "--to", "4", "--json")[1]
    )

    code, out, _ = invoke(
        "audit", "check-consistency", "--old", str(old), "--new", str(new),
        "--proof", str(proof), "--key", public, "--json",
    )  # fmt: skip

    assert code == 1
    assert json.loads(out)["kind"] == "inconsistent checkpoints"


def test_check_consistency_rejects_a_checkpoint_signed_by_another_key(
    log: Path, keys: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    assert invoke("keys", "init", "--dir", str(other))[0] == 0
    forged = tmp_path / "forged.txt"
    assert (
        invoke(
            "audit",
            "checkpoint",
            "--log",
            str(log),
            "--key",
            str(other / "audit-signing.key"),
            "--out",
            str(forged),
        )[0]
        == 0
    )
    proof = tmp_path / "proof.json"
    proof.write_text(
        invoke("audit", "consistency", "--log", str(log), "--from", "3", "--to", "3", "--json")[1]
    )

    code, _, err = invoke(
        "audit", "check-consistency", "--old", str(forged), "--new", str(forged),
        "--proof", str(proof), "--key", str(keys / "audit-signing.pub"),
    )  # fmt: skip

    assert code == 1
    assert "bad checkpoint: unknown key" in err


def test_check_consistency_rejects_a_file_that_is_not_a_proof(
    log: Path, keys: Path, tmp_path: Path
) -> None:
    bogus = tmp_path / "proof.json"
    bogus.write_text('{"proof": ["%%%"]}')

    code, _, err = invoke(
        "audit", "check-consistency", "--old", str(bogus), "--new", str(bogus),
        "--proof", str(bogus), "--key", str(keys / "audit-signing.pub"),
    )  # fmt: skip

    assert code == 4
    assert "not a consistency proof" in err


def test_verify_reports_progress_on_a_long_log(keys: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from gateway.audit.keys import load_signer
    from gateway.audit.records import GENESIS_PREV, AuditEvent, seal_record

    signer = load_signer(keys / "audit-signing.key")
    path, prev, lines = tmp_path / "long.log", GENESIS_PREV, []
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    for seq in range(4_100):
        record = seal_record(AuditEvent(type="t"), seq=seq, prev=prev, time=moment, signer=signer)
        lines.append(record.line + b"\n")
        prev = record.hash
    path.write_bytes(b"".join(lines))

    code, out, _ = invoke(
        "audit",
        "verify",
        "--log",
        str(path),
        "--key",
        str(keys / "audit-signing.pub"),
        "--chain-only",
    )

    assert code == 0
    assert out.startswith("ok: 4100 records")


def test_verify_names_a_missing_log(keys: Path, tmp_path: Path) -> None:
    code, _, err = invoke(
        "audit",
        "verify",
        "--log",
        str(tmp_path / "nope.log"),
        "--key",
        str(keys / "audit-signing.pub"),
    )

    assert code == 2
    assert "nope.log' does not exist" in err


def test_verify_pins_the_checkpoint_origin(log: Path, keys: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "cp.txt"
    invoke(
        "audit", "checkpoint", "--log", str(log), "--key", str(keys / "audit-signing.key"),
        "--name", "corp/audit", "--out", str(checkpoint),
    )  # fmt: skip
    public = str(keys / "audit-signing.pub")

    right = invoke(
        "audit",
        "verify",
        "--log",
        str(log),
        "--key",
        public,
        "--checkpoint",
        str(checkpoint),
        "--origin",
        "corp/audit",
    )
    wrong = invoke(
        "audit",
        "verify",
        "--log",
        str(log),
        "--key",
        public,
        "--checkpoint",
        str(checkpoint),
        "--origin",
        "other/audit",
        "--json",
    )

    assert right[0] == 0
    assert wrong[0] == 1
    assert json.loads(wrong[1])["kind"] == "bad checkpoint"
    assert "origin mismatch" in json.loads(wrong[1])["error"]


def test_a_torn_last_line_is_malformed(log: Path, keys: Path) -> None:
    log.write_bytes(log.read_bytes()[:-1])

    code, out, _ = invoke(
        "audit", "verify", "--log", str(log), "--key", str(keys / "audit-signing.pub"), "--json"
    )

    assert code == 1
    assert json.loads(out) | {"error": ""} == {
        "valid": False,
        "sequence": 2,
        "kind": "malformed record",
        "error": "",
    }


# -- key rotation: which key an auditor pins ---------------------------------------------------


def test_after_a_rotation_the_log_still_verifies_with_keys_audit_signing_pub(
    log: Path, keys: Path
) -> None:
    code, out, _ = invoke("keys", "rotate", "--log", str(log), "--dir", str(keys), "--json")
    rotation = json.loads(out)
    assert code == 0
    event = '{"type": "manual.action", "actor": "elena"}'
    key = str(keys / "audit-signing.key")
    assert invoke("audit", "record", "--log", str(log), "--key", key, "--event", event)[0] == 0

    code, out, err = invoke(
        "audit", "verify", "--log", str(log), "--key", str(keys / "audit-signing.pub"), "--json"
    )

    assert code == 0, out + err
    result = json.loads(out)
    assert result["records"] == 5
    assert result["key_ids"] == [rotation["old_key_id"], rotation["new_key_id"]]


def test_rotate_says_which_public_key_auditors_pin(log: Path, keys: Path) -> None:
    first = json.loads(invoke("keys", "rotate", "--log", str(log), "--dir", str(keys), "--json")[1])

    code, out, _ = invoke("keys", "rotate", "--log", str(log), "--dir", str(keys))

    assert code == 0
    pinned = keys / "audit-signing.pub"
    assert (
        f"auditors pin the log's first key {first['old_key_id']}: {pinned} "
        "(rotation never changes it; verification follows the rotation records)"
    ) in out
    code, out, _ = invoke("keys", "rotate", "--log", str(log), "--dir", str(keys), "--json")
    result = json.loads(out)
    assert (result["first_key_id"], result["pin"]) == (first["old_key_id"], str(pinned))
    new_public = keys / f"audit-signing-{result['new_key_id']}.pub"
    assert result["new_public_key"] == str(new_public)
    assert new_public.read_text().startswith("-----BEGIN PUBLIC KEY")


def test_verifying_with_a_key_the_log_rotated_to_says_which_key_to_pin(
    log: Path, keys: Path
) -> None:
    code, out, _ = invoke("keys", "rotate", "--log", str(log), "--dir", str(keys), "--json")
    rotation = json.loads(out)
    rotated_to = keys / f"audit-signing-{rotation['new_key_id']}.pub"

    code, out, err = invoke("audit", "verify", "--log", str(log), "--key", str(rotated_to))

    assert code == 1
    assert (
        f"record 0: unknown key: this log's first key is {rotation['old_key_id']}; the key "
        f"given is {rotation['new_key_id']}, which record 3 rotated to; pin the log's first "
        "key, verification follows its rotations"
    ) in err


def test_verifying_with_an_unrelated_key_names_both_keys(
    log: Path, keys: Path, tmp_path: Path
) -> None:
    other = json.loads(invoke("keys", "init", "--dir", str(tmp_path / "other"), "--json")[1])
    pinned = str(keys / "audit-signing.pub")
    first = json.loads(invoke("audit", "verify", "--log", str(log), "--key", pinned, "--json")[1])

    code, out, _ = invoke(
        "audit", "verify", "--log", str(log), "--key", other["public_key"], "--json"
    )

    assert code == 1
    assert json.loads(out)["error"] == (
        f"record 0: unknown key: this log's first key is {first['key_ids'][0]}; the key given is "
        f"{other['key_id']}; pin the log's first key, verification follows its rotations"
    )


def test_the_demo_still_verifies_its_log_after_a_key_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "policies", tmp_path / "policies")
    shutil.copytree(repo / "automations", tmp_path / "automations")
    monkeypatch.chdir(tmp_path)
    assert invoke("demo")[0] == 0
    code, _, err = invoke("keys", "rotate", "--log", "var/audit.log", "--dir", "keys")
    assert code == 0, err

    code, out, err = invoke("demo")

    assert code == 0, err
    assert "audit log verified: " in out
    assert "gateway audit verify --log var/audit.log --key keys/audit-signing.pub" in out


# -- records an auditor's verifier must refuse cleanly --------------------------------------


def test_verify_reports_a_deeply_nested_record_as_malformed(log: Path, keys: Path) -> None:
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(
        b'"payload":{}', b'"payload":{"a":' + b"[" * 975 + b"]" * 975 + b"}"
    )
    log.write_bytes(b"".join(lines))

    code, out, err = invoke(
        "audit", "verify", "--log", str(log), "--key", str(keys / "audit-signing.pub"), "--json"
    )

    assert code == 1, err
    assert json.loads(out) == {
        "valid": False,
        "sequence": 1,
        "kind": "malformed record",
        "error": "record 1: malformed record: nested deeper than 100 levels",
    }


def test_check_consistency_refuses_a_deeply_nested_proof_file(
    log: Path, keys: Path, tmp_path: Path
) -> None:
    proof = tmp_path / "proof.json"
    proof.write_text("[" * 100_000 + "]" * 100_000)
    checkpoint = tmp_path / "cp.txt"
    invoke(
        "audit", "checkpoint", "--log", str(log), "--key", str(keys / "audit-signing.key"),
        "--out", str(checkpoint),
    )  # fmt: skip

    code, _, err = invoke(
        "audit", "check-consistency", "--old", str(checkpoint), "--new", str(checkpoint),
        "--proof", str(proof), "--key", str(keys / "audit-signing.pub"),
    )  # fmt: skip

    assert code == 4
    assert "not a consistency proof" in err


@pytest.mark.parametrize(
    "item",
    [
        pytest.param("AAAA", id="a proof hash that is not 32 bytes"),
        pytest.param("A" * 42 + "B=", id="a proof hash in non canonical base64"),
    ],
)
def test_check_consistency_refuses_proof_hashes_that_are_not_32_canonical_bytes(
    log: Path, keys: Path, tmp_path: Path, item: str
) -> None:
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps({"proof": [item]}))
    checkpoint = tmp_path / "cp.txt"
    invoke(
        "audit", "checkpoint", "--log", str(log), "--key", str(keys / "audit-signing.key"),
        "--out", str(checkpoint),
    )  # fmt: skip

    code, _, err = invoke(
        "audit", "check-consistency", "--old", str(checkpoint), "--new", str(checkpoint),
        "--proof", str(proof), "--key", str(keys / "audit-signing.pub"),
    )  # fmt: skip

    assert code == 4
    assert "not a consistency proof" in err


@pytest.mark.parametrize(
    ("old_size", "new_size"),
    [pytest.param(3, 3, id="between equal sizes"), pytest.param(0, 3, id="from the empty tree")],
)
def test_consistency_proofs_rfc_9162_leaves_out_are_empty_and_check(
    log: Path, keys: Path, tmp_path: Path, old_size: int, new_size: int
) -> None:
    private, public = str(keys / "audit-signing.key"), str(keys / "audit-signing.pub")
    new = tmp_path / "new.txt"
    invoke("audit", "checkpoint", "--log", str(log), "--key", private, "--out", str(new))
    old = new
    if old_size == 0:
        empty = tmp_path / "empty.log"
        empty.write_bytes(b"")
        old = tmp_path / "old.txt"
        invoke("audit", "checkpoint", "--log", str(empty), "--key", private, "--out", str(old))
    code, out, _ = invoke(
        "audit", "consistency", "--log", str(log), "--from", str(old_size), "--to",
        str(new_size), "--json",
    )  # fmt: skip
    assert (code, json.loads(out)["proof"]) == (0, [])
    proof = tmp_path / "proof.json"
    proof.write_text(out)

    code, out, _ = invoke(
        "audit", "check-consistency", "--old", str(old), "--new", str(new),
        "--proof", str(proof), "--key", public,
    )  # fmt: skip

    assert code == 0
    assert out.strip() == f"ok: the log at size {new_size} extends the log at size {old_size}"


def test_rotate_warns_when_keys_audit_signing_pub_is_not_the_log_first_key(
    log: Path, keys: Path, tmp_path: Path
) -> None:
    first = json.loads(invoke("keys", "rotate", "--log", str(log), "--dir", str(keys), "--json")[1])
    (keys / "audit-signing.pub").write_bytes(Path(first["new_public_key"]).read_bytes())

    code, _, err = invoke("keys", "rotate", "--log", str(log), "--dir", str(keys))

    assert code == 0
    assert (
        f"auditors pin the log's first key {first['old_key_id']}; {keys / 'audit-signing.pub'} "
        f"holds {first['new_key_id']}: give auditors the key {first['old_key_id']} instead"
    ) in err
