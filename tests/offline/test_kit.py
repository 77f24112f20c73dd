"""Kits the central key signed but whose contents are wrong still fail closed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditEvent
from gateway.errors import AuditWriteError
from gateway.offline.batch import append_batch
from gateway.offline.mode import KitTrust
from gateway.policy.trust import BundleTrust

from .conftest import invoke, resign

Prepare = Callable[..., dict[str, object]]


def _ec_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set(("device_private_key",), "not a key"), "the device key is not a PEM private key"),
        (_set(("device_private_key",), _ec_pem()), "the device key is not Ed25519"),
        (
            _set(("manifest", "device_public_key"), "0" * 64),
            "the device key pair does not match the manifest",
        ),
        (_set(("manifest", "kit_id"), "kit-1"), "malformed: 1 validation error"),
        (_set(("manifest", "expires"), "tomorrow"), "malformed: Invalid isoformat"),
        (
            _set(("policy", "files", "../escape.cedar"), ""),
            "tampered: policy files give",
        ),
    ],
    ids=[
        "a device key that is no key",
        "a device key of another kind",
        "a device key that is not the manifest's",
        "a kit id of the wrong form",
        "an expiry that is no time",
        "a policy file added",
    ],
)
def test_a_kit_signed_with_wrong_contents_fails_closed(
    central: Path, prepare: Prepare, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    kit = Path(str(prepare()["kit"]))
    resign(kit, central, change)

    code, _, err = invoke("--offline", str(kit), "offline", "request", "--actor", "elena",
                          "--action", "diagnostics.run", "--resource", "host:pc-1")  # fmt: skip

    assert code == 4
    assert message in err


def test_a_kit_whose_file_names_leave_its_folder_fails_closed(
    central: Path, prepare: Prepare
) -> None:
    kit = Path(str(prepare()["kit"]))
    resign(kit, central, _set(("workflows", "../../escape.yaml"), "id: x"))

    code, _, err = invoke("--offline", str(kit), "offline", "request", "--actor", "elena",
                          "--action", "diagnostics.run", "--resource", "host:pc-1")  # fmt: skip

    assert code == 4
    assert "leaves the kit's folder" in err
    assert not (central / "escape.yaml").exists()


def test_a_signature_that_is_not_base64_is_malformed(central: Path, prepare: Prepare) -> None:
    import json

    kit = Path(str(prepare()["kit"]))
    document = json.loads(kit.read_text())
    document["sig"] = "***"
    kit.write_text(json.dumps(document))

    code, _, err = invoke("--offline", str(kit), "offline", "request", "--actor", "elena",
                          "--action", "diagnostics.run", "--resource", "host:pc-1")  # fmt: skip

    assert code == 4
    assert "field kit refused: malformed" in err


def test_a_kit_s_bundle_changed_on_disk_is_not_trusted(tmp_path: Path) -> None:
    trust = KitTrust("sha256:" + "a" * 64, "field kit kit-1", None)

    check = trust.check(tmp_path, "sha256:" + "b" * 64)

    assert check.verdict == "tampered"
    assert trust.check(tmp_path, "sha256:" + "a" * 64).signers == ("field kit kit-1",)


def test_with_trusted_keys_a_kit_s_bundle_needs_their_signatures(tmp_path: Path) -> None:
    trust = KitTrust("sha256:" + "a" * 64, "field kit kit-1", BundleTrust((), 1))

    assert trust.check(tmp_path, "sha256:" + "a" * 64).verdict == "unsigned"


def test_a_batch_is_written_whole_or_reports_the_event_it_refused(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log", Signer.generate())

    assert append_batch(log, []) == []
    written = append_batch(log, [AuditEvent(type="a.b"), AuditEvent(type="a.c")])
    with pytest.raises(AuditWriteError, match="append failed"):
        append_batch(log, [AuditEvent(type="a.d", payload={"x": 1.5}), AuditEvent(type="a.e")])

    assert [record.seq for record in written] == [0, 1]


def test_a_site_without_offline_definitions_gets_none(central: Path, prepare: Prepare) -> None:
    (central / "gateway.toml").write_text(
        (central / "gateway.toml").read_text().replace("automations/workflows", "nowhere")
    )

    result = prepare()

    import json

    assert json.loads(Path(str(result["kit"])).read_text())["kit"]["workflows"] == {}


def test_a_kit_that_needs_a_step_up_is_not_prepared(central: Path) -> None:
    (central / "policies/cedar/offline.cedar").write_text(
        (central / "policies/cedar/offline.cedar")
        .read_text()
        .replace(
            '@id("offline-prepare-active-staff")',
            '@id("offline-prepare-active-staff")\n@step_up("max_age=5m")',
        )
    )

    code, _, err = invoke("offline", "prepare", "--technician", "elena", "--site", "branch-7")

    assert code == 3
    assert "which a kit cannot wait for" in err
