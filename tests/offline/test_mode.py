"""``gateway --offline KIT``: decisions from the kit alone, recorded in its segment."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.audit.canonical import canonical_bytes
from gateway.audit.keys import Signer, init_keys, load_signer

from .conftest import invoke

Prepare = Callable[..., dict[str, object]]


@pytest.fixture
def kit(prepare: Prepare) -> Path:
    return Path(str(prepare()["kit"]))


def segment_records(kit: Path) -> list[dict[str, object]]:
    segment = kit.with_name(kit.name.removesuffix(".kit.json") + ".segment.log")
    return [json.loads(line) for line in segment.read_text().splitlines()]


def test_an_offline_decision_uses_the_kit_and_lands_in_the_segment(kit: Path) -> None:
    code, out, err = invoke(
        "--offline", str(kit), "authorize",
        "--actor", "elena", "--action", "diagnostics.run", "--resource", "host:tom-laptop",
    )  # fmt: skip

    assert code == 0, err
    assert out.startswith("ALLOW")
    checkpoint = json.loads(kit.read_text())["kit"]["checkpoint"]
    [record] = segment_records(kit)
    assert record["type"] == "decision"
    assert record["prev"] == checkpoint["head_hash"]
    assert record["seq"] == 0
    payload = record["payload"]
    assert isinstance(payload, dict)
    assert payload["context"]["offline"] is True
    manifest = json.loads(kit.read_text())["kit"]["manifest"]
    assert record["key_id"] == manifest["device_key_id"]


def test_people_outside_the_site_are_unknown_offline(kit: Path) -> None:
    code, out, _ = invoke(
        "--offline", str(kit), "authorize",
        "--actor", "sam", "--action", "diagnostics.run", "--resource", "host:pc-1",
    )  # fmt: skip

    assert code == 3
    assert "unknown actor 'sam'" in out


def test_a_caller_cannot_claim_to_be_offline(central: Path) -> None:
    code, out, _ = invoke(
        "authorize", "--actor", "elena", "--action", "diagnostics.run",
        "--resource", "host:pc-1", "--context", "offline=true",
    )  # fmt: skip

    assert code == 3
    assert "offline is set by the gateway" in out


def test_a_password_reset_is_refused_offline_saying_why(kit: Path) -> None:
    code, _, err = invoke(
        "--offline", str(kit), "offline", "request",
        "--actor", "elena", "--action", "password.reset", "--resource", "account:tom",
    )  # fmt: skip

    assert code == 3
    assert "needs a central system" in err
    assert "use --queue" in err
    assert [r["type"] for r in segment_records(kit)] == ["decision"]


def test_a_refused_password_reset_is_queued_in_the_segment(kit: Path) -> None:
    code, out, err = invoke(
        "--offline", str(kit), "offline", "request", "--queue", "--json",
        "--actor", "elena", "--action", "password.reset", "--resource", "account:tom",
    )  # fmt: skip

    assert code == 0, err
    assert json.loads(out)["outcome"] == "queued"
    decision, queued = segment_records(kit)
    assert queued["type"] == "offline.action_queued"
    assert (queued["actor"], queued["action"], queued["resource"]) == (
        "elena", "password.reset", "account:tom",
    )  # fmt: skip
    assert queued["decision_id"] == decision["decision_id"]


def test_an_allowed_request_is_not_queued(kit: Path) -> None:
    code, out, _ = invoke(
        "--offline", str(kit), "offline", "request", "--queue",
        "--actor", "elena", "--action", "diagnostics.run", "--resource", "host:pc-1",
    )  # fmt: skip

    assert (code, out) == (0, "allowed: allow\n")


def test_a_plain_deny_is_not_queued(kit: Path) -> None:
    code, _, err = invoke(
        "--offline", str(kit), "offline", "request", "--queue",
        "--actor", "tom", "--action", "diagnostics.run", "--resource", "host:pc-1",
    )  # fmt: skip

    assert code == 3
    assert "use --queue" not in err
    assert [r["type"] for r in segment_records(kit)] == ["decision"]


def test_an_approval_by_others_is_refused_offline(kit: Path) -> None:
    code, out, _ = invoke(
        "--offline", str(kit), "authorize", "--actor", "elena",
        "--action", "software.install", "--resource", "software:visio",
        "--context", "device=tom-laptop",
    )  # fmt: skip

    assert code == 3
    assert "needs approval by others, which cannot be given offline" in out


def test_offline_request_needs_a_kit(central: Path) -> None:
    code, _, err = invoke(
        "offline", "request", "--actor", "elena", "--action", "x.y", "--resource", "a:b"
    )

    assert code == 4
    assert "runs on a field kit" in err


def test_kits_are_not_prepared_on_a_kit(kit: Path) -> None:
    code, _, err = invoke(
        "--offline", str(kit), "offline", "prepare", "--technician", "elena", "--site", "x"
    )

    assert code == 4
    assert "on the central gateway" in err


def test_an_expired_kit_fails_closed(prepare: Prepare, monkeypatch: pytest.MonkeyPatch) -> None:
    kit = Path(str(prepare("--valid", "1h")["kit"]))
    later = datetime.now(UTC) + timedelta(hours=2)
    monkeypatch.setattr("gateway.clock.utcnow", lambda: later)

    code, _, err = invoke(
        "--offline", str(kit), "authorize",
        "--actor", "elena", "--action", "diagnostics.run", "--resource", "host:pc-1",
    )  # fmt: skip

    assert code == 4
    assert "field kit refused: expired: kit kit-" in err
    assert not kit.with_name(kit.name.removesuffix(".kit.json") + ".segment.log").exists()


def test_a_kit_not_yet_valid_fails_closed(
    prepare: Prepare, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = Path(str(prepare()["kit"]))
    earlier = datetime.now(UTC) - timedelta(hours=2)
    monkeypatch.setattr("gateway.clock.utcnow", lambda: earlier)

    code, _, err = invoke("--offline", str(kit), "offline", "request", "--actor", "elena",
                          "--action", "diagnostics.run", "--resource", "host:pc-1")  # fmt: skip

    assert code == 4
    assert "not yet valid" in err


def test_a_tampered_kit_fails_closed(kit: Path) -> None:
    document = json.loads(kit.read_text())
    document["kit"]["facts"]["directory"]["users"]["tom"]["groups"] = ["domain-admins"]
    kit.write_bytes(canonical_bytes(document))

    code, _, err = invoke("--offline", str(kit), "offline", "request", "--actor", "tom",
                          "--action", "diagnostics.run", "--resource", "host:pc-1")  # fmt: skip

    assert code == 4
    assert "field kit refused: tampered: the signature does not verify" in err


def test_a_kit_whose_policy_files_differ_from_its_digest_is_tampered(
    kit: Path, central: Path
) -> None:
    document = json.loads(kit.read_text())
    files = document["kit"]["policy"]["files"]
    files["cedar/offline.cedar"] += "\n// changed\n"
    body = canonical_bytes(document["kit"])
    signer = _central_signer(central)
    document["sig"] = base64.b64encode(
        signer.sign(b"it-support-gateway field kit v1\n" + body)
    ).decode()
    kit.write_bytes(canonical_bytes(document))

    code, _, err = invoke("--offline", str(kit), "offline", "request", "--actor", "elena",
                          "--action", "diagnostics.run", "--resource", "host:pc-1")  # fmt: skip

    assert code == 4
    assert "tampered: policy files give sha256:" in err


def test_a_foreign_kit_fails_closed(kit: Path, central: Path) -> None:
    init_keys(central / "other")
    (central / "gateway.toml").write_text(
        (central / "gateway.toml").read_text()
        + "[offline]\ncentral_public_key = 'other/audit-signing.pub'\n"
    )

    code, _, err = invoke("--offline", str(kit), "offline", "request", "--actor", "elena",
                          "--action", "diagnostics.run", "--resource", "host:pc-1")  # fmt: skip

    assert code == 4
    assert "field kit refused: foreign: signed by key" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "malformed: not JSON"),
        (b"[]", "malformed: expected the members format, key_id, sig and kit"),
        (b'{"format": "x", "key_id": "", "sig": "", "kit": {}}', "malformed: format expected"),
    ],
    ids=["not JSON", "not an object", "another format"],
)
def test_a_malformed_kit_fails_closed(central: Path, content: bytes, message: str) -> None:
    invoke("keys", "init")
    path = central / "bad.kit.json"
    path.write_bytes(content)

    code, _, err = invoke("--offline", str(path), "offline", "request", "--actor", "elena",
                          "--action", "diagnostics.run", "--resource", "host:pc-1")  # fmt: skip

    assert code == 4
    assert message in err


def test_a_missing_kit_fails_closed(central: Path) -> None:
    invoke("keys", "init")

    code, _, err = invoke("--offline", "nowhere.kit.json", "offline", "request",
                          "--actor", "elena", "--action", "a.b", "--resource", "a:b")  # fmt: skip

    assert code == 4
    assert "field kit refused: unreadable" in err


def _central_signer(central: Path) -> Signer:
    return load_signer(central / "keys/audit-signing.key")


def test_the_offline_gateway_needs_a_kit() -> None:
    from gateway.app.offline import OfflineGateway
    from gateway.config import GatewayConfig
    from gateway.errors import ConfigError

    with pytest.raises(ConfigError, match="offline mode needs a kit"):
        OfflineGateway.from_config(GatewayConfig())
