"""``gateway audit show``: the auditor's view of sealed personal fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.privacy.keystore import DataKeyStore
from tests.privacy.sealed import TOM_FACTS, SealedLog, decision_of, make_sealed_log


@pytest.fixture
def sealed_log(tmp_path: Path) -> SealedLog:
    return make_sealed_log(tmp_path)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def _write(sealed_log: SealedLog) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
        log.append(decision_of("elena", {"v": 1, "actor": {"id": "elena"}, "resource": None}))


def test_show_opens_sealed_fields_with_the_key_store(sealed_log: SealedLog) -> None:
    _write(sealed_log)
    code, out, err = invoke(
        "audit", "show", "--log", str(sealed_log.path), "--data-keys", str(sealed_log.keys_path)
    )
    assert code == 0, err
    assert "#0" in out
    assert "decision actor=tom" in out
    assert '"department": "Sales"' in out
    assert "(sealed, opened)" in out


def test_show_says_erased_for_a_shredded_person_and_verify_still_passes(
    sealed_log: SealedLog, tmp_path: Path
) -> None:
    _write(sealed_log)
    with DataKeyStore(sealed_log.keys_path) as keys:
        keys.erase_person("tom", datetime(2024, 6, 1, tzinfo=UTC))
    code, out, _ = invoke(
        "audit", "show", "--log", str(sealed_log.path), "--data-keys", str(sealed_log.keys_path),
        "--json",
    )  # fmt: skip
    assert code == 0
    tom, elena = json.loads(out)
    assert tom["payload"]["facts"] == "erased"
    assert tom["sealed"] == {"payload.facts": "erased"}
    assert elena["sealed"] == {"payload.facts": "opened"}
    assert "Sales" not in out
    public = tmp_path / "audit.pub"
    from cryptography.hazmat.primitives import serialization

    public.write_bytes(
        sealed_log.signer.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    code, out, err = invoke("audit", "verify", "--log", str(sealed_log.path), "--key", str(public))
    assert code == 0, err
    assert out.startswith("ok: 2 records")


def test_show_without_the_key_store_says_unavailable(sealed_log: SealedLog, tmp_path: Path) -> None:
    _write(sealed_log)
    code, out, _ = invoke(
        "audit", "show", "--log", str(sealed_log.path), "--data-keys",
        str(tmp_path / "missing.sqlite"), "--seq", "1",
    )  # fmt: skip
    assert code == 0
    assert out.count("#") == 1
    assert "payload.facts: unavailable" in out
    assert not (tmp_path / "missing.sqlite").exists()


def test_show_defaults_to_the_configured_key_store(sealed_log: SealedLog, tmp_path: Path) -> None:
    _write(sealed_log)
    config = tmp_path / "gateway.toml"
    config.write_text(f'[privacy]\nkey_store = "{sealed_log.keys_path}"\n')
    code, out, err = invoke("--config", str(config), "audit", "show", "--log", str(sealed_log.path))
    assert code == 0, err
    assert "(sealed, opened)" in out
