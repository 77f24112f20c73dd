"""``gateway offline sync``: a segment verified, merged as a sub-log, its queue replayed;
a bad one kept aside with the first bad record named."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.canonical import canonical_bytes
from gateway.audit.keys import Signer, load_public_key
from gateway.audit.records import AuditEvent
from gateway.defaults import EMBEDDED_DIRECTORY
from gateway.offline import sync as offline_sync
from gateway.offline.kit import load_kit
from gateway.offline.segment import SegmentLog

from .conftest import audit_lines, invoke

Prepare = Callable[..., dict[str, object]]


@pytest.fixture
def kit(prepare: Prepare) -> Path:
    return Path(str(prepare()["kit"]))


def segment_of(kit: Path) -> Path:
    return kit.with_name(kit.name.removesuffix(".kit.json") + ".segment.log")


def offline(kit: Path, *args: str) -> tuple[int, str, str]:
    return invoke("--offline", str(kit), *args)


def work_offline(kit: Path) -> Path:
    """A diagnostic, a refused and queued password reset: three segment records."""
    offline(kit, "authorize", "--actor", "elena", "--action", "diagnostics.run",
            "--resource", "host:tom-laptop")  # fmt: skip
    code, _, err = offline(
        kit, "offline", "request", "--queue", "--actor", "elena",
        "--action", "password.reset", "--resource", "account:tom",
        "--workflow", "password-reset", "--param", "user=tom",
    )  # fmt: skip
    assert code == 0, err
    return segment_of(kit)


def sync(segment: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    code, out, err = invoke("offline", "sync", str(segment), "--json", *extra)
    return code, json.loads(out), err


def verify(central: Path) -> tuple[int, str, str]:
    return invoke("audit", "verify", "--log", str(central / "var/audit.log"),
                  "--key", str(central / "keys/audit-signing.pub"))  # fmt: skip


def lines(segment: Path) -> list[bytes]:
    return segment.read_bytes().splitlines()


def test_a_merged_segment_is_part_of_the_verified_central_history(central: Path, kit: Path) -> None:
    segment = work_offline(kit)

    code, result, err = sync(segment)

    assert code == 0, err
    assert (result["status"], result["records"]) == ("merged", 3)
    records = audit_lines(central)
    merged = records[int(str(result["record"]))]
    assert merged["type"] == "offline.segment_merged"
    [batch] = [r for r in records if r["type"] == "offline.record"]
    assert batch["payload"]["first"] == 0  # type: ignore[index]
    assert [line.encode() for line in batch["payload"]["lines"]] == lines(segment)  # type: ignore[index]
    assert verify(central)[0] == 0


def test_a_segment_longer_than_a_batch_is_merged_in_several_central_records(
    central: Path, kit: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(offline_sync, "MERGE_BATCH", 2)
    segment = work_offline(kit)

    code, _, err = sync(segment)

    assert code == 0, err
    batches: list[Any] = [
        r["payload"] for r in audit_lines(central) if r["type"] == "offline.record"
    ]
    assert [(b["first"], len(b["lines"])) for b in batches] == [(0, 2), (2, 1)]
    assert [line.encode() for b in batches for line in b["lines"]] == lines(segment)
    assert verify(central)[0] == 0


def test_queued_actions_are_replayed_with_a_fresh_decision_and_run(
    central: Path, kit: Path
) -> None:
    segment = work_offline(kit)

    _, result, _ = sync(segment)

    [replayed] = result["replayed"]  # type: ignore[misc]
    assert replayed["decision"] == "allow"
    assert replayed["execution"]["state"] == "succeeded"
    types = [r["type"] for r in audit_lines(central)]
    assert "execution.finished" in types
    assert types[-1] == "offline.replayed"


def test_a_fact_that_changed_while_offline_wins_on_replay(central: Path, kit: Path) -> None:
    segment = work_offline(kit)
    directory = central / "directory.yaml"
    text = EMBEDDED_DIRECTORY.read_text().replace(
        "    groups: [helpdesk, oncall]\n", "    groups: [finance]\n"
    )  # elena left the helpdesk while she was on site
    directory.write_text(text)
    config = central / "gateway.toml"
    config.write_text(config.read_text() + "[identity]\nstatic_file = 'directory.yaml'\n")

    _, result, _ = sync(segment)

    [replayed] = result["replayed"]  # type: ignore[misc]
    assert replayed["decision"] == "deny"
    assert replayed["reasons"]
    assert "execution" not in replayed
    assert "execution.started" not in [r["type"] for r in audit_lines(central)]


def test_a_central_change_to_the_same_account_is_reported_as_a_conflict(
    central: Path, kit: Path
) -> None:
    segment = work_offline(kit)
    invoke("authorize", "--actor", "elena", "--action", "diagnostics.run", "--resource", "host:x")
    code, _, err = invoke("run", "password-reset", "--actor", "elena", "--param", "user=tom")
    assert code == 0, err

    _, result, _ = sync(segment)

    [replayed] = result["replayed"]  # type: ignore[misc]
    records = audit_lines(central)
    assert {records[seq]["type"] for seq in replayed["conflicts"]} == {  # type: ignore[index]
        "execution.started", "action.started", "action.succeeded", "execution.finished",
    }  # fmt: skip
    assert "account:tom changed centrally while offline" in replayed["conflict"]


def test_the_same_segment_synced_twice_is_merged_once(central: Path, kit: Path) -> None:
    segment = work_offline(kit)
    sync(segment)
    before = audit_lines(central)

    code, result, _ = sync(segment)

    assert (code, result["status"]) == (0, "already merged")
    assert audit_lines(central) == before


def _replayed_or_merged(central: Path) -> int:
    return sum(r["type"] in ("offline.record", "offline.replayed") for r in audit_lines(central))


def refused(central: Path, segment: Path) -> tuple[dict[str, object], dict[str, object]]:
    before = _replayed_or_merged(central) if (central / "var/audit.log").exists() else 0
    code, result, _ = sync(segment)
    assert code == 1
    assert result["status"] == "refused"
    record = audit_lines(central)[int(str(result["record"]))]
    assert record["type"] == "offline.segment_refused"
    kept = Path(str(result["quarantined"]))
    assert kept.read_bytes() == segment.read_bytes()
    assert kept.with_name(kept.name + ".reason").read_text().strip() == result["reason"]
    alerts = (central / "var/notifications.jsonl").read_text().splitlines()
    assert json.loads(alerts[-1])["kind"] == "alert"
    assert _replayed_or_merged(central) == before  # nothing merged, nothing replayed
    return result, record


def test_a_segment_with_a_gap_is_refused_naming_the_first_bad_record(
    central: Path, kit: Path
) -> None:
    segment = work_offline(kit)
    first, _, third = lines(segment)
    segment.write_bytes(first + b"\n" + third + b"\n")

    result, record = refused(central, segment)

    assert "segment record 1: gap: expected seq 1, found 2" in str(result["reason"])
    assert record["payload"]["first_bad_record"] == 1  # type: ignore[index]


def test_a_reordered_segment_is_refused(central: Path, kit: Path) -> None:
    segment = work_offline(kit)
    first, second, third = lines(segment)
    segment.write_bytes(b"\n".join([first, third, second]) + b"\n")

    result, _ = refused(central, segment)

    assert "segment record 1:" in str(result["reason"])


def test_a_forged_record_is_refused(central: Path, kit: Path) -> None:
    segment = work_offline(kit)
    first, second, third = lines(segment)
    forged = json.loads(first)
    forged["payload"]["decision"] = "allow"
    forged["actor"] = "sam"
    segment.write_bytes(b"\n".join([canonical_bytes(forged), second, third]) + b"\n")

    result, _ = refused(central, segment)

    assert "segment record 0: bad signature" in str(result["reason"])


def test_a_record_signed_by_another_key_is_refused(central: Path, kit: Path) -> None:
    loaded = load_kit(kit, load_public_key(central / "keys/audit-signing.pub"), _now())
    other = SegmentLog(
        central / "other.log", Signer.generate(), start_prev=loaded.body.checkpoint.head_hash
    )
    other.append(AuditEvent(type="note.made"))
    other.close()

    result, _ = refused(central, central / "other.log")

    assert "segment record 0: unknown key: signed by" in str(result["reason"])


def test_a_segment_of_a_revoked_kit_is_refused(central: Path, kit: Path, prepare: Prepare) -> None:
    segment = work_offline(kit)
    kit_id = json.loads(kit.read_text())["kit"]["manifest"]["kit_id"]
    assert invoke("offline", "revoke", kit_id, "--by", "omar")[0] == 0

    result, _ = refused(central, segment)

    assert f"revoked kit: kit {kit_id} was revoked by record" in str(result["reason"])


def _now() -> datetime:
    return datetime.now(UTC)


def _segment_with_times(central: Path, kit: Path, times: list[datetime]) -> Path:
    loaded = load_kit(kit, load_public_key(central / "keys/audit-signing.pub"), _now())
    moments = iter(times)
    path = central / "timed.segment.log"
    log = SegmentLog(
        path, loaded.device_signer(), clock=lambda: next(moments),
        start_prev=loaded.body.checkpoint.head_hash,
    )  # fmt: skip
    for _ in times:
        log.append(AuditEvent(type="troubleshooting.answered", actor="elena"))
    log.close()
    return path


def test_a_clock_that_ran_backwards_is_refused(central: Path, kit: Path) -> None:
    now = _now()
    segment = _segment_with_times(central, kit, [now, now + timedelta(minutes=5), now])

    result, _ = refused(central, segment)

    assert "segment record 2: clock went backwards" in str(result["reason"])


def test_a_record_after_the_kit_expired_is_refused(central: Path, kit: Path) -> None:
    now = _now()
    segment = _segment_with_times(central, kit, [now, now + timedelta(days=4)])

    result, _ = refused(central, segment)

    assert "segment record 1: outside validity" in str(result["reason"])


def test_a_record_under_another_policy_is_refused(central: Path, kit: Path) -> None:
    loaded = load_kit(kit, load_public_key(central / "keys/audit-signing.pub"), _now())
    path = central / "policy.segment.log"
    log = SegmentLog(path, loaded.device_signer(), start_prev=loaded.body.checkpoint.head_hash)
    log.append(AuditEvent(type="decision", policy_digest="sha256:" + "0" * 64))
    log.close()

    result, _ = refused(central, path)

    assert "segment record 0: policy mismatch" in str(result["reason"])


def test_a_segment_of_no_enrolled_kit_is_refused(central: Path, kit: Path) -> None:
    path = central / "stray.segment.log"
    log = SegmentLog(path, Signer.generate(), start_prev="ab" * 32)
    log.append(AuditEvent(type="note.made"))
    log.close()

    result, _ = refused(central, path)

    assert "unknown kit: record 0's prev abababababababab... is no enrolled kit" in str(
        result["reason"]
    )


def test_a_segment_named_for_another_kit_is_refused(central: Path, kit: Path) -> None:
    segment = work_offline(kit)

    code, result, _ = sync(segment, "--kit", "kit-0000000000000000")

    assert code == 1
    assert "wrong kit" in str(result["reason"])


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "segment: empty"), (b"nonsense\n", "segment record 0: malformed record")],
    ids=["an empty segment", "a line that is no record"],
)
def test_an_unreadable_segment_is_refused(
    central: Path, kit: Path, content: bytes, message: str
) -> None:
    path = central / "bad.segment.log"
    path.write_bytes(content)

    result, _ = refused(central, path)

    assert message in str(result["reason"])


def test_a_missing_segment_is_an_error(central: Path) -> None:
    code, _, err = invoke("offline", "sync", "nowhere.log")

    assert code == 4
    assert "unreadable" in err


def test_sync_is_refused_on_a_kit(kit: Path) -> None:
    code, _, err = offline(kit, "offline", "sync", "x.log")

    assert code == 4
    assert "on the central gateway" in err


def test_a_kit_whose_enrolment_is_unreadable_is_refused(central: Path, kit: Path) -> None:
    from gateway.audit.keys import load_signer
    from gateway.audit.log import AuditLog
    from gateway.offline.sync import sync_segment

    log = AuditLog(central / "var/audit.log", load_signer(central / "keys/audit-signing.key"))
    bad = log.append(AuditEvent(type="offline.kit_prepared", payload={"kit_id": "kit-x"}))
    path = central / "x.segment.log"
    segment = SegmentLog(path, Signer.generate(), start_prev=bad.hash)
    segment.append(AuditEvent(type="note.made"))
    segment.close()

    outcome = sync_segment(
        path, audit=log, quarantine=central / "q", now=_now(), actor="svc-gateway"
    )

    assert outcome.status == "refused"
    assert outcome.reason == "segment: unknown kit: kit kit-x's enrolment is unreadable"
    assert not (central / "var/notifications.jsonl").exists()


def test_a_segment_without_a_final_newline_is_merged(central: Path, kit: Path) -> None:
    segment = work_offline(kit)
    segment.write_bytes(segment.read_bytes().rstrip(b"\n"))

    code, result, _ = sync(segment)

    assert (code, result["status"], result["records"]) == (0, "merged", 3)
