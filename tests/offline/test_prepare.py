"""``gateway offline prepare`` and ``revoke``: decided, audited first, one signed file."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

from gateway.offline.kit import KIT_FORMAT

from .conftest import audit_lines, invoke


def test_a_prepared_kit_is_enrolled_in_the_central_log_before_it_is_written(
    central: Path, prepare: Callable[..., dict[str, object]]
) -> None:
    result = prepare("--valid", "72h")

    records = audit_lines(central)
    decision, enrolment = records[-2], records[-1]
    assert decision["type"] == "decision"
    assert decision["action"] == "offline.prepare"
    assert decision["resource"] == "site:branch-7"
    assert enrolment["type"] == "offline.kit_prepared"
    payload = enrolment["payload"]
    assert isinstance(payload, dict)
    assert payload["kit_id"] == result["kit_id"]
    assert payload["device_public_key"] == result["device_public_key"]
    assert payload["expires"] == result["expires"]
    assert "device_private_key" not in json.dumps(enrolment)
    kit = json.loads(Path(str(result["kit"])).read_text())
    assert kit["format"] == KIT_FORMAT
    assert kit["kit"]["checkpoint"]["size"] == len(records)
    assert stat.S_IMODE(Path(str(result["kit"])).stat().st_mode) == 0o600


def test_a_kit_holds_only_the_site_s_people_and_their_devices(
    central: Path, prepare: Callable[..., dict[str, object]]
) -> None:
    result = prepare()

    kit = json.loads(Path(str(result["kit"])).read_text())["kit"]
    users = kit["facts"]["directory"]["users"]
    assert set(users) == {"elena", "tom", "lena", "priya", "omar"}  # managers as stubs
    assert "email" not in users["priya"]
    assert "email" in users["tom"]
    assert set(kit["facts"]["devices"]) == {
        "elena-laptop",
        "tom-laptop",
        "tom-desktop",
        "lena-laptop",
    }
    # software-install declares offline: true; account-unlock is started by the tree
    assert sorted(kit["workflows"]) == ["account-unlock.yaml", "software-install.yaml"]
    assert list(kit["trees"]) == ["network-connectivity.yaml"]
    assert (result["people"], result["devices"]) == (3, 4)


def test_an_employee_cannot_prepare_a_kit_and_nothing_is_written(central: Path) -> None:
    code, _, err = invoke("offline", "prepare", "--technician", "tom", "--site", "branch-7")

    assert code == 3
    assert "offline.prepare" in err
    assert [r["type"] for r in audit_lines(central)][-1] == "decision"
    assert not (central / "var/offline/kits").exists()


def test_a_validity_longer_than_allowed_is_refused(central: Path) -> None:
    code, _, err = invoke(
        "offline", "prepare", "--technician", "elena", "--site", "branch-7", "--valid", "30d"
    )

    assert code == 4
    assert "at most 168h" in err


def test_a_validity_that_is_not_a_duration_is_a_usage_error(central: Path) -> None:
    code, _, err = invoke(
        "offline", "prepare", "--technician", "elena", "--site", "b", "--valid", "soon"
    )

    assert code == 2
    assert "72h or 3d" in err


def test_an_unknown_technician_is_refused(central: Path) -> None:
    code, _, err = invoke("offline", "prepare", "--technician", "nobody", "--site", "branch-7")

    assert code == 4
    assert "unknown technician 'nobody'" in err


def test_a_kit_is_revoked_once_decided_and_audited(
    central: Path, prepare: Callable[..., dict[str, object]]
) -> None:
    kit_id = str(prepare()["kit_id"])

    code, out, err = invoke("offline", "revoke", kit_id, "--by", "omar", "--json")
    again = invoke("offline", "revoke", kit_id, "--by", "omar")

    assert code == 0, err
    revocation = audit_lines(central)[json.loads(out)["record"]]
    assert revocation["type"] == "offline.kit_revoked"
    assert revocation["payload"] == {"kit_id": kit_id, "reason": "revoked"}
    assert again[0] == 4
    assert "was revoked by record" in again[2]


def test_an_unknown_kit_cannot_be_revoked(central: Path) -> None:
    code, _, err = invoke("offline", "revoke", "kit-0000000000000000", "--by", "omar")

    assert code == 4
    assert "no kit 'kit-0000000000000000' is enrolled" in err


def test_an_employee_cannot_revoke_a_kit(
    central: Path, prepare: Callable[..., dict[str, object]]
) -> None:
    kit_id = str(prepare()["kit_id"])

    code, _, err = invoke("offline", "revoke", kit_id, "--by", "tom")

    assert code == 3
    assert "offline.revoke" in err


def test_only_definitions_that_declare_offline_go_in_a_kit(
    central: Path, prepare: Callable[..., dict[str, object]]
) -> None:
    trees = central / "automations/troubleshooting"
    (trees / "list.yaml").write_text("- not a definition\n")
    (trees / "odd.yaml").write_text("id: odd\noffline: true\nnodes: [a, b]\n")
    (trees / "plain.yaml").write_text("id: plain\nnodes: {a: {type: question}}\n")

    result = prepare()

    kit = json.loads(Path(str(result["kit"])).read_text())["kit"]
    assert sorted(kit["trees"]) == ["network-connectivity.yaml", "odd.yaml"]
