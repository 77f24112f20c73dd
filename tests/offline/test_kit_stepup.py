"""Step-up on a field kit: the kit's own TOTP enrolment, handed over once by ``offline
prepare``, checked offline with a replay guard that survives restarts, recorded in the
segment and never written anywhere else."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest

from gateway.audit.keys import load_public_key
from gateway.config import GatewayConfig
from gateway.offline.errors import OfflineError
from gateway.offline.kit import load_kit
from gateway.offline.kit_stepup import open_kit_stepup
from gateway.policy.decision import StepUpObligation
from gateway.stepup.errors import CodeRejectedError

from .conftest import audit_lines, invoke, resign

Prepare = Callable[..., dict[str, object]]
LOCAL_ADMIN = (
    "--actor",
    "elena",
    "--action",
    "device.local_admin",
    "--resource",
    "host:tom-laptop",
)


@pytest.fixture
def prepared(prepare: Prepare) -> dict[str, object]:
    return prepare()


@pytest.fixture
def kit(prepared: dict[str, object]) -> Path:
    return Path(str(prepared["kit"]))


def seed_of(prepared: dict[str, object]) -> str:
    totp = pyotp.parse_uri(str(prepared["stepup_uri"]))
    assert isinstance(totp, pyotp.TOTP)
    return str(totp.secret)


def code_of(prepared: dict[str, object]) -> str:
    return pyotp.TOTP(seed_of(prepared)).now()


def offline(kit: Path, *args: str) -> tuple[int, str, str]:
    return invoke("--offline", str(kit), *args)


def segment_lines(kit: Path) -> list[str]:
    segment = kit.with_name(kit.name.removesuffix(".kit.json") + ".segment.log")
    return segment.read_text().splitlines() if segment.exists() else []


def segment_records(kit: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in segment_lines(kit)]


def digest_in(message: str) -> str:
    found = re.search(r"--bound-to (sha256:[0-9a-f]{64})", message)
    assert found is not None, message
    return found.group(1)


def step_up(kit: Path, code: str, *extra: str) -> tuple[int, str, str]:
    return offline(kit, "stepup", "verify", "--user", "elena", "--code", code, *extra)


def test_prepare_hands_the_technician_a_kit_only_enrolment_once(
    prepared: dict[str, object], central: Path
) -> None:
    uri = str(prepared["stepup_uri"])
    totp = pyotp.parse_uri(uri)
    assert uri.startswith("otpauth://totp/")
    assert totp.name == "elena"
    assert totp.issuer == f"IT Support Gateway {prepared['kit_id']}"
    seed = seed_of(prepared)
    [record] = [r for r in audit_lines(central) if r["type"] == "offline.kit_prepared"]
    payload = record["payload"]
    assert isinstance(payload, dict)
    assert payload["stepup"] == {"method": "totp", "user": "elena", "expires": prepared["expires"]}
    assert seed not in (central / "var/audit.log").read_text()
    assert (
        not (central / "var/stepup.db").exists()
        or seed.encode() not in (central / "var/stepup.db").read_bytes()
    )


def test_prepare_prints_the_enrolment_uri_for_people(central: Path) -> None:
    code, out, err = invoke("offline", "prepare", "--technician", "elena", "--site", "branch-7")

    assert code == 0, err
    assert "step-up    for elena on this kit only, until " in out
    [uri] = re.findall(r"otpauth://totp/\S+", out)
    assert "secret=" in uri
    assert "secret" not in err


def test_an_action_demanding_step_up_is_refused_offline_until_a_kit_code_is_given(
    prepared: dict[str, object], kit: Path, central: Path
) -> None:
    code, _, err = offline(kit, "offline", "request", *LOCAL_ADMIN)
    assert code == 3
    assert "the policy demands a step-up (totp) within 300s" in err
    digest = digest_in(err)

    code, out, err = step_up(kit, code_of(prepared), "--bound-to", digest)
    assert (code, out) == (0, f"step-up accepted for elena (bound to {digest})\n"), err

    code, out, err = offline(kit, "offline", "request", *LOCAL_ADMIN)
    assert (code, out) == (0, "allowed: allow\n"), err
    # used up by that request: the next one needs a new step-up
    code, _, err = offline(kit, "offline", "request", *LOCAL_ADMIN)
    assert code == 3
    assert "demands a step-up" in err

    records = segment_records(kit)
    kinds = [r["type"] for r in records]
    assert kinds == ["decision", "stepup.verified", "decision", "stepup.consumed", "decision"]
    verified = records[1]
    assert verified["actor"] == "elena"
    assert verified["payload"] == {"method": "totp", "bound_to": digest}
    assert verified["key_id"] == records[0]["key_id"]  # signed by the device key
    seed = seed_of(prepared)
    assert all(seed not in line for line in segment_lines(kit))
    assert seed not in (central / "var/audit.log").read_text()
    unpacked = [p for p in kit.with_name(kit.name + ".d").rglob("*") if p.is_file()]
    assert unpacked
    assert all(seed.encode() not in p.read_bytes() for p in unpacked)
    assert (
        seed.encode() not in kit.with_name(kit.name.replace(".kit.json", ".stepup.db")).read_bytes()
    )


def test_a_wrong_code_is_refused_and_recorded(prepared: dict[str, object], kit: Path) -> None:
    right = code_of(prepared)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    code, _, err = step_up(kit, wrong)

    assert code == 3
    assert "step-up code is wrong or expired" in err
    [failed] = segment_records(kit)
    assert failed["type"] == "stepup.failed"
    assert failed["payload"] == {"method": "totp", "reason": "wrong_code", "failures": 1}


def test_a_used_code_is_refused_after_the_offline_gateway_restarts(
    prepared: dict[str, object], kit: Path
) -> None:
    used = code_of(prepared)
    assert step_up(kit, used)[0] == 0

    code, _, err = step_up(kit, used)  # a new process: the guard is in the kit's store

    assert code == 3
    assert "step-up code was already used" in err
    assert [r["type"] for r in segment_records(kit)] == ["stepup.verified", "stepup.failed"]
    assert segment_records(kit)[1]["payload"]["reason"] == "replayed"


def test_the_central_gateway_never_accepts_a_kit_code(
    prepared: dict[str, object], kit: Path
) -> None:
    code, _, err = invoke("stepup", "verify", "--user", "elena", "--code", code_of(prepared))

    assert code == 4
    assert "user 'elena' is not enrolled for step-up" in err


def test_step_up_status_on_a_kit_reads_the_kit_enrolment(
    prepared: dict[str, object], kit: Path
) -> None:
    assert step_up(kit, code_of(prepared))[0] == 0

    code, out, err = offline(kit, "stepup", "status", "--user", "elena", "--json")

    assert code == 0, err
    status = json.loads(out)
    assert status["enrolled"] is True
    assert status["last_step_up"] is not None
    assert json.loads(offline(kit, "stepup", "status", "--user", "tom", "--json")[1])[
        "enrolled"
    ] is False  # fmt: skip


def test_no_recovery_code_works_on_a_kit(kit: Path) -> None:
    code, _, err = step_up(kit, "abcd-efgh-jkmn-pqrs", "--recovery")

    assert code == 3
    assert "recovery code is wrong or already used" in err
    [failed] = segment_records(kit)
    assert failed["payload"] == {"method": "recovery_code", "reason": "wrong_code", "failures": 1}


def test_no_one_enrols_in_step_up_on_a_kit(kit: Path) -> None:
    code, _, err = offline(kit, "stepup", "enrol", "--user", "elena")

    assert code == 3
    assert "needs a central system" in err


def test_an_expired_kit_allows_no_step_up(
    prepare: Prepare, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = prepare("--valid", "1h")
    kit, code = Path(str(prepared["kit"])), code_of(prepared)
    later = datetime.now(UTC) + timedelta(hours=2)
    monkeypatch.setattr("gateway.clock.utcnow", lambda: later)

    result, _, err = step_up(kit, code)

    assert result == 4
    assert "field kit refused: expired" in err
    assert segment_records(kit) == []


def _service(central: Path, kit: Path, clock: Callable[[], datetime]) -> Any:
    loaded = load_kit(kit, load_public_key(central / "keys/audit-signing.pub"), datetime.now(UTC))
    events: list[Any] = []
    service = open_kit_stepup(
        loaded, kit.with_name("kit.stepup.db"), GatewayConfig().stepup, audit=events.append,
        clock=clock,
    )  # fmt: skip
    return service, events


def test_a_kit_expiring_while_the_offline_gateway_runs_ends_its_step_ups(
    prepared: dict[str, object], kit: Path, central: Path
) -> None:
    now = [datetime.now(UTC)]
    service, events = _service(central, kit, lambda: now[0])
    service.verify("elena", code_of(prepared))
    obligation = StepUpObligation(policy="p", reuse="window")
    assert service.satisfies(obligation, "elena")

    now[0] += timedelta(hours=73)  # the kit (72 h) has expired

    assert service.last_step_up("elena") is None
    assert not service.satisfies(obligation, "elena")
    assert not service.claim(obligation, "elena", bound_to="sha256:" + "0" * 64, consumer="x")
    with pytest.raises(
        CodeRejectedError, match=r"field kit kit-[0-9a-f]+ expired at .*: no step-up"
    ) as refused:
        service.verify("elena", code_of(prepared))
    assert refused.value.reason == "kit_expired"
    with pytest.raises(CodeRejectedError, match="expired"):
        service.verify_recovery_code("elena", "abcd-efgh-jkmn")
    with pytest.raises(OfflineError, match="enrolment needs the central gateway"):
        service.enrol("elena")
    service.close()
    assert [e.type for e in events] == ["stepup.verified"]


def test_a_step_up_on_a_kit_still_counts_until_it_expires(
    prepared: dict[str, object], kit: Path, central: Path
) -> None:
    service, _ = _service(central, kit, lambda: datetime.now(UTC))
    service.verify("elena", code_of(prepared), bound_to="sha256:" + "1" * 64)
    obligation = StepUpObligation(policy="p")
    try:
        assert service.claim(obligation, "elena", bound_to="sha256:" + "1" * 64, consumer="c")
    finally:
        service.close()


def test_a_store_holding_another_seed_gets_the_kit_seed(
    prepared: dict[str, object], kit: Path, central: Path, prepare: Prepare
) -> None:
    """The store next to the kit holds this kit's seed whatever was there before (a seed of
    another kit does not open under this kit's key)."""
    other = prepare()
    other_kit = Path(str(other["kit"]))
    other_kit.with_name("kit.stepup.db").unlink(missing_ok=True)
    service, _ = _service(central, other_kit, lambda: datetime.now(UTC))
    service.close()
    store = other_kit.with_name("kit.stepup.db")
    assert store == kit.with_name("kit.stepup.db")  # the same folder: one store for both

    service, _ = _service(central, kit, lambda: datetime.now(UTC))
    try:
        service.verify("elena", code_of(prepared))  # this kit's seed, not the other's
    finally:
        service.close()


def test_a_kit_resigned_with_a_new_seed_replaces_the_stored_one(
    prepared: dict[str, object], kit: Path, central: Path
) -> None:
    service, _ = _service(central, kit, lambda: datetime.now(UTC))
    service.close()
    seed = pyotp.random_base32(length=32)

    def change(body: dict[str, Any]) -> None:
        body["stepup"]["seed"] = seed

    resign(kit, central, change)
    service, _ = _service(central, kit, lambda: datetime.now(UTC))
    try:
        service.verify("elena", pyotp.TOTP(seed).now())
    finally:
        service.close()


def test_a_kit_without_an_enrolment_allows_no_step_up(
    prepared: dict[str, object], kit: Path, central: Path
) -> None:
    resign(kit, central, lambda body: body.pop("stepup"))

    code, _, err = step_up(kit, code_of(prepared))

    assert code == 4
    assert "user 'elena' is not enrolled for step-up" in err
    assert [r["payload"]["reason"] for r in segment_records(kit)] == ["not_enrolled"]


def test_with_step_up_off_an_action_demanding_it_is_refused_on_a_kit(
    prepared: dict[str, object], kit: Path, central: Path
) -> None:
    (central / "gateway.toml").write_text(
        (central / "gateway.toml").read_text() + "[stepup]\nenabled = false\n"
    )

    code, _, err = offline(kit, "offline", "request", *LOCAL_ADMIN)
    assert code == 3
    assert "demands a step-up" in err
    code, _, err = step_up(kit, code_of(prepared))
    assert code == 4
    assert "step-up is disabled" in err


def test_a_step_up_in_the_segment_of_a_revoked_kit_is_refused_at_sync(
    prepared: dict[str, object], kit: Path, central: Path
) -> None:
    assert step_up(kit, code_of(prepared))[0] == 0
    kit_id = str(prepared["kit_id"])
    assert invoke("offline", "revoke", kit_id, "--by", "omar")[0] == 0
    segment = kit.with_name(kit.name.removesuffix(".kit.json") + ".segment.log")

    code, out, _ = invoke("offline", "sync", str(segment), "--json")

    assert code == 1
    assert f"revoked kit: kit {kit_id} was revoked" in json.loads(out)["reason"]
    assert "stepup.verified" not in [r["type"] for r in audit_lines(central)]
