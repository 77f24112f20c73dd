"""Signed policy bundles from the operator's side: signing, verifying, the refusal of an
unsigned, under-signed or tampered bundle at start and at reload, the development key of a
fresh copy, and the history of the bundles in force read back from the audit log."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.app import Gateway
from gateway.audit.keys import init_keys, load_signer
from gateway.audit.log import read_lines
from gateway.audit.records import AuditRecord, parse_record
from gateway.cli import cli
from gateway.config import load_config
from gateway.policy.trust import PolicyTrustError

REPO = Path(__file__).resolve().parents[2]
EXTRA_POLICY = """
@id("kb-publish-technicians")
permit (principal in Group::"field-technicians", action == Action::"kb.publish", resource);
"""
ALLOWED = ("--actor", "elena", "--action", "kb.publish", "--resource", "article:x")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(
        REPO / "policies", tmp_path / "policies", ignore=shutil.ignore_patterns("signatures")
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def records(workdir: Path) -> list[AuditRecord]:
    log = workdir / "var" / "audit.log"
    return [parse_record(line, n) for n, line in enumerate(read_lines(log))]


def trust(workdir: Path, *signers: str, threshold: int = 1) -> dict[str, Path]:
    """Make a key pair per signer under signers/ and trust their public keys."""
    keys = {}
    entries = []
    for name in signers:
        private, public, _ = init_keys(workdir / "signers", stem=name)
        keys[name] = private
        entries.append(f'{{signer = "{name}", public_key = "{public.relative_to(workdir)}"}}')
    (workdir / "gateway.toml").write_text(
        f"[policy]\nthreshold = {threshold}\ntrusted_keys = [{', '.join(entries)}]\n"
    )
    return keys


def test_a_fresh_copy_decides_under_a_development_key_and_says_so(
    workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        code, out, _ = invoke("authorize", *ALLOWED, "--json")
    verified = json.loads(invoke("policy", "verify", "--json")[1])

    assert code == 0, out
    assert json.loads(out)["policy_signers"] == ["development"]
    assert any("decisions are made under a development key" in m for m in caplog.messages)
    assert (workdir / "policies" / "signatures" / "development.sig.json").is_file()
    assert (workdir / "keys" / "policy-development.key").is_file()
    assert verified["development"] is True
    assert verified["signers"] == ["development"]
    assert verified["trusted"] is True
    (decision,) = [r for r in records(workdir) if r.type == "decision"]
    assert decision.payload["policy_signers"] == ["development"]


def test_an_unsigned_bundle_is_refused_at_start_under_trusted_keys(workdir: Path) -> None:
    trust(workdir, "alice")

    code, _, err = invoke("authorize", *ALLOWED)
    verify_code, out, _ = invoke("policy", "verify")

    assert code == 4
    assert "policy bundle is not trusted" in err
    assert "unsigned: 0 of 1" in err
    assert verify_code == 1
    assert "nobody trusted" in out
    (refused,) = [r for r in records(workdir) if r.type == "policy.refused"]
    assert refused.payload["reason"] == "unsigned"
    assert refused.payload["in_force"] is None
    assert refused.payload["digest"].startswith("sha256:")


def test_two_signers_meet_a_threshold_of_two_and_decisions_name_them(workdir: Path) -> None:
    keys = trust(workdir, "alice", "bob", threshold=2)

    signed = invoke("policy", "sign", "--key", str(keys["alice"]), "--by", "alice", "--json")
    under = json.loads(invoke("policy", "verify", "--json")[1])
    refused = invoke("authorize", *ALLOWED)[0]
    invoke("policy", "sign", "--key", str(keys["bob"]))
    met_code, met_out, _ = invoke("policy", "verify", "--json")
    code, out, _ = invoke("authorize", *ALLOWED, "--json")

    assert signed[0] == 0, signed[2]
    assert json.loads(signed[1])["signer"] == "alice"
    assert (workdir / "policies" / "signatures" / "alice.sig.json").is_file()
    assert (under["verdict"], under["signers"], under["missing"]) == ("under_signed", ["alice"], 1)
    assert refused == 4
    assert met_code == 0
    assert json.loads(met_out)["signers"] == ["alice", "bob"]
    assert code == 0
    assert json.loads(out)["policy_signers"] == ["alice", "bob"]
    log = records(workdir)
    signings = [r for r in log if r.type == "policy.signed"]
    assert next((r.actor, r.payload["signer"]) for r in signings) == ("alice", "alice")
    assert [r.payload["signer"] for r in signings] == ["alice", "bob"]
    under_signed = [r.payload["reason"] for r in log if r.type == "policy.refused"]
    assert under_signed == ["under_signed"]
    private_pem = keys["alice"].read_text()
    body = private_pem.split("-----")[2].strip()
    assert all(body.encode() not in line for line in read_lines(workdir / "var" / "audit.log"))


def test_an_edit_after_signing_is_refused_as_tampered(workdir: Path) -> None:
    keys = trust(workdir, "alice")
    invoke("policy", "sign", "--key", str(keys["alice"]))
    (workdir / "policies" / "cedar" / "extra.cedar").write_text(EXTRA_POLICY)

    code, _, err = invoke("authorize", *ALLOWED)
    verified = json.loads(invoke("policy", "verify", "--json")[1])

    assert code == 4
    assert "tampered" in err
    assert verified["verdict"] == "tampered"
    assert "alice: signature over another digest" in verified["problems"][0]


def test_a_tampered_reload_keeps_the_last_good_bundle_and_is_audited(workdir: Path) -> None:
    keys = trust(workdir, "alice")
    invoke("policy", "sign", "--key", str(keys["alice"]))
    gateway = Gateway.from_config(load_config(workdir / "gateway.toml"))
    good = gateway.policies.engine.digest

    (workdir / "policies" / "cedar" / "extra.cedar").write_text(EXTRA_POLICY)
    refused = gateway.policies.reload_if_changed()
    again = gateway.policies.reload_if_changed()
    invoke("policy", "sign", "--key", str(keys["alice"]))
    accepted = gateway.policies.reload_if_changed()
    gateway.close()

    assert isinstance(refused.error, PolicyTrustError)
    assert refused.error.check.verdict == "tampered"
    assert refused.digest == good
    assert again is refused  # not refused (nor audited) again until something changes
    assert accepted.changed
    assert accepted.digest != good
    log = records(workdir)
    (refusal,) = [r for r in log if r.type == "policy.refused"]
    assert refusal.policy_digest == good
    assert refusal.payload["in_force"] == good
    assert refusal.payload["reason"] == "tampered"
    assert refusal.payload["digest"] == accepted.digest
    (reload,) = [r for r in log if r.type == "policy.reloaded"]
    assert reload.payload["signers"] == ["alice"]


def test_a_signature_by_a_key_that_is_not_trusted_does_not_count(workdir: Path) -> None:
    trust(workdir, "alice")
    mallory, _, _ = init_keys(workdir / "elsewhere", stem="mallory")

    signed = invoke("policy", "sign", "--key", str(mallory), "--signer", "alice")
    verified = json.loads(invoke("policy", "verify", "--json")[1])

    assert signed[0] == 0
    assert verified["verdict"] == "under_signed"
    assert verified["signers"] == []
    assert "is not a trusted key" in verified["problems"][0]


def test_a_key_the_configuration_does_not_name_needs_a_signer_name(workdir: Path) -> None:
    stray, _, _ = init_keys(workdir / "elsewhere", stem="stray")

    code, _, err = invoke("policy", "sign", "--key", str(stray))

    assert code == 4
    assert "is not among [policy] trusted_keys: name the signer with --signer" in err
    assert not (workdir / "policies" / "signatures").exists()


def test_nothing_is_signed_when_the_audit_log_cannot_be_written(workdir: Path) -> None:
    keys = trust(workdir, "alice")
    (workdir / "var").mkdir()
    (workdir / "var" / "audit.log").mkdir()  # a directory: the log cannot be opened

    code, _, err = invoke("policy", "sign", "--key", str(keys["alice"]))

    assert code == 5
    assert "cannot open audit log" in err
    assert not (workdir / "policies" / "signatures" / "alice.sig.json").exists()


def test_a_threshold_no_set_of_trusted_signers_can_meet_is_a_configuration_error(
    workdir: Path,
) -> None:
    trust(workdir, "alice", threshold=2)

    code, _, err = invoke("policy", "verify")

    assert code == 4
    assert "threshold 2 exceeds the 1 trusted signers" in err


def test_history_lists_each_bundle_in_force_with_its_signers(workdir: Path) -> None:
    keys = trust(workdir, "alice")
    invoke("policy", "sign", "--key", str(keys["alice"]))
    invoke("authorize", *ALLOWED)
    first = json.loads(invoke("policy", "verify", "--json")[1])["digest"]
    gateway = Gateway.from_config(load_config(workdir / "gateway.toml"))
    (workdir / "policies" / "cedar" / "extra.cedar").write_text(EXTRA_POLICY)
    invoke("policy", "sign", "--key", str(keys["alice"]))
    second = gateway.policies.reload_if_changed().digest
    gateway.close()
    invoke("authorize", *ALLOWED)

    code, out, _ = invoke("policy", "history", "--json")
    human = invoke("policy", "history")[1]

    assert code == 0
    bundles = json.loads(out)["bundles"]
    assert [(b["digest"], b["signers"], b["decisions"]) for b in bundles] == [
        (first, ["alice"], 1),
        (second, ["alice"], 1),
    ]
    assert bundles[0]["since"] <= bundles[1]["since"]
    assert f"{first}  signed by alice" in human


def test_history_of_an_empty_log_says_so(workdir: Path) -> None:
    (workdir / "empty.log").write_bytes(b"")

    assert (
        invoke("policy", "history", "--log", "empty.log")[1] == "no bundle in the audit log yet\n"
    )


def test_a_bundle_signed_by_a_revoked_key_is_refused_and_the_key_cannot_sign(
    workdir: Path,
) -> None:
    keys = trust(workdir, "alice")
    invoke("policy", "sign", "--key", str(keys["alice"]))
    key_id = json.loads(invoke("policy", "verify", "--json")[1])
    alice_id = load_signer(keys["alice"]).key_id
    with (workdir / "gateway.toml").open("a") as config:
        config.write(f'revoked_keys = ["{alice_id}"]\n')

    verified = json.loads(invoke("policy", "verify", "--json")[1])
    refused = invoke("authorize", *ALLOWED)
    signing = invoke("policy", "sign", "--key", str(keys["alice"]))

    assert key_id["verdict"] == "ok"
    assert (verified["verdict"], verified["signers"]) == ("under_signed", [])
    assert f"alice: key {alice_id} is revoked" in verified["problems"]
    assert refused[0] == 4
    assert "is revoked" in refused[2]
    assert signing[0] == 4
    assert f"key {alice_id} is revoked ([policy] revoked_keys)" in signing[2]
