"""A central gateway in a temporary folder, and kits prepared on it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]

Invoke = Callable[..., tuple[int, str, str]]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def central(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The central gateway's folder (policies, automations, defaults), as working dir."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    (tmp_path / "gateway.toml").write_text(
        "[runtime]\nworkflows = 'automations/workflows'\n"
        "[troubleshooting]\ntrees = 'automations/troubleshooting'\n"
        "[selfservice]\ncatalog = 'automations/catalog'\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def prepare(central: Path) -> Callable[..., dict[str, object]]:
    def run(*extra: str, technician: str = "elena", site: str = "branch-7") -> dict[str, object]:
        code, out, err = invoke(
            "offline", "prepare", "--technician", technician, "--site", site, "--json", *extra
        )
        assert code == 0, err
        result: dict[str, object] = json.loads(out)
        return result

    return run


def audit_lines(folder: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (folder / "var/audit.log").read_text().splitlines()]


def resign(kit: Path, central: Path, change: Callable[[dict[str, object]], None]) -> None:
    """Change the kit's body and sign it again with the central key (a kit the centre
    really signed, whose contents are wrong)."""
    import base64

    from gateway.audit.canonical import canonical_bytes
    from gateway.audit.keys import load_signer
    from gateway.offline.kit import KIT_SIGNING_CONTEXT

    document = json.loads(kit.read_text())
    change(document["kit"])
    signer = load_signer(central / "keys/audit-signing.key")
    signature = signer.sign(KIT_SIGNING_CONTEXT + canonical_bytes(document["kit"]))
    document["sig"] = base64.b64encode(signature).decode()
    kit.write_bytes(canonical_bytes(document))
