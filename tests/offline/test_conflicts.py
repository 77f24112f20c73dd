"""A conflict (the same account changed centrally and on site while the kit was offline)
is written at merge as an ``offline.conflict`` record linking both records, shown by
``gateway offline sync`` and findable in the log from either side."""

from __future__ import annotations

import json
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest

from .conftest import audit_lines, invoke
from .test_sync import lines, sync, verify, work_offline

Prepare = Callable[..., dict[str, object]]


@pytest.fixture
def kit(prepare: Prepare) -> Path:
    return Path(str(prepare()["kit"]))


def show(central: Path, *extra: str) -> list[dict[str, Any]]:
    code, out, err = invoke("audit", "show", "--log", str(central / "var/audit.log"), "--json",
                            *extra)  # fmt: skip
    assert code == 0, err
    shown: list[dict[str, Any]] = json.loads(out)
    return shown


def central_reset_of_tom() -> None:
    code, _, err = invoke("run", "password-reset", "--actor", "elena", "--param", "user=tom")
    assert code == 0, err


def test_a_conflict_links_the_merged_offline_record_and_the_central_change(
    central: Path, kit: Path
) -> None:
    segment = work_offline(kit)  # record 2: tom's reset queued on site
    central_reset_of_tom()  # ... while the helpdesk reset it centrally

    code, result, err = sync(segment)

    assert code == 0, err
    [conflict] = result["conflicts"]  # type: ignore[misc]
    log = (central / "var/audit.log").read_bytes().splitlines()
    changed = [json.loads(line) for line in log if b'"resource":"account:tom"' in line]
    central_seqs = [  # before the merge: the replay after it changes tom again
        r["seq"] for r in changed
        if r["type"].startswith(("execution.", "action.")) and r["seq"] < result["record"]  # type: ignore[operator]
    ]  # fmt: skip
    assert conflict["resource"] == "account:tom"
    assert conflict["segment_record"] == {
        "kit_id": result["kit_id"], "segment": 1, "index": 2,
        "hash": sha256(lines(segment)[2]).hexdigest(), "type": "offline.action_queued",
        "time": json.loads(lines(segment)[2])["time"],
        "merged_by": conflict["segment_record"]["merged_by"],
    }  # fmt: skip
    batch = json.loads(log[conflict["segment_record"]["merged_by"]])
    assert batch["type"] == "offline.record"
    assert batch["payload"]["lines"][2].encode() == lines(segment)[2]
    assert [c["seq"] for c in conflict["central_records"]] == central_seqs
    assert [c["hash"] for c in conflict["central_records"]] == [
        sha256(log[seq]).hexdigest() for seq in central_seqs
    ]
    [replayed] = result["replayed"]  # type: ignore[misc]
    assert replayed["conflict_record"] == conflict["record"]
    assert verify(central)[0] == 0

    [record] = show(central, "--seq", str(conflict["record"]))
    assert (record["type"], record["resource"]) == ("offline.conflict", "account:tom")
    assert record["payload"]["segment_record"]["index"] == 2
    about_central = [
        r for r in show(central) if r["type"] == "offline.conflict"
        and central_seqs[0] in [c["seq"] for c in r["payload"]["central_records"]]
    ]  # fmt: skip
    assert [r["seq"] for r in about_central] == [conflict["record"]]


def test_without_a_central_change_there_is_no_conflict(central: Path, kit: Path) -> None:
    segment = work_offline(kit)

    _, result, _ = sync(segment)

    assert result["conflicts"] == []
    [replayed] = result["replayed"]  # type: ignore[misc]
    assert "conflict_record" not in replayed
    assert "offline.conflict" not in [r["type"] for r in show(central)]


def test_sync_prints_the_conflict_on_both_records(central: Path, kit: Path) -> None:
    segment = work_offline(kit)
    central_reset_of_tom()

    code, out, err = invoke("offline", "sync", str(segment))

    assert code == 0, err
    assert "conflict: account:tom changed on site (segment record 2, merged by record" in out
    assert "and centrally (records " in out


def test_the_replays_of_a_kits_own_queue_are_no_conflict_for_its_next_segment(
    central: Path, kit: Path
) -> None:
    segment = work_offline(kit)  # tom's reset queued on site
    code, first, err = sync(segment)  # ... and replayed centrally: tom's account changed
    assert code == 0, err
    assert first["conflicts"] == []
    assert [r["decision"] for r in first["replayed"]] == ["allow"]  # type: ignore[index]
    code, _, err = invoke(
        "--offline", str(kit), "offline", "request", "--queue", "--actor", "elena",
        "--action", "password.reset", "--resource", "account:tom",
        "--workflow", "password-reset", "--param", "user=tom",
    )  # fmt: skip
    assert code == 0, err  # the link went down again: tom's reset queued once more

    code, second, err = sync(segment)

    assert code == 0, err
    assert (second["status"], second["segment"]) == ("merged", 2)
    assert second["conflicts"] == []  # the only central change to tom is this kit's replay
    assert [r["conflicts"] for r in second["replayed"]] == [[]]  # type: ignore[index]
    assert not [r for r in show(central) if r["type"] == "offline.conflict"]

    before = len(audit_lines(central))
    central_reset_of_tom()  # a change by someone else still conflicts
    code, _, err = invoke(
        "--offline", str(kit), "offline", "request", "--queue", "--actor", "elena",
        "--action", "password.reset", "--resource", "account:tom",
        "--workflow", "password-reset", "--param", "user=tom",
    )  # fmt: skip
    assert code == 0, err
    code, third, err = sync(segment)
    assert code == 0, err
    [conflict] = third["conflicts"]  # type: ignore[misc]
    seqs = [c["seq"] for c in conflict["central_records"]]
    assert seqs
    assert min(seqs) >= before  # the helpdesk's reset only, not the kit's replays
    assert verify(central)[0] == 0


def test_only_the_kits_own_replayed_executions_are_left_out_of_central_changes() -> None:
    from datetime import UTC, datetime

    from gateway.audit.keys import Signer
    from gateway.audit.records import AuditEvent, seal_record
    from gateway.offline.conflicts import central_changes, own_executions

    signer, prev, central = Signer.generate(), "0" * 64, []
    events = [
        AuditEvent(type="offline.kit_prepared", payload={"kit_id": "kit-a"}),
        AuditEvent(type="action.succeeded", resource="account:tom", payload={"execution": "e1"}),
        AuditEvent(type="action.succeeded", resource="account:tom", payload={"execution": "e2"}),
        AuditEvent(type="action.succeeded", resource="account:tom", payload={"execution": "e3"}),
        AuditEvent(type="action.succeeded", resource="account:tom2", payload={"execution": "e4"}),
        AuditEvent(type="action.succeeded", resource='account:zoë "z"',
                   payload={"execution": "e5", "resource": "account:tom"}),
        AuditEvent(type="ticket.updated", payload={"resource": "account:tom", "seq": 1}),
        AuditEvent(type="offline.replayed", resource="account:tom",
                   payload={"kit_id": "kit-a", "execution": {"id": "e1", "state": "ok"}}),
        AuditEvent(type="offline.replayed", resource="account:tom",  # another kit's replay
                   payload={"kit_id": "kit-b", "execution": {"id": "e2", "state": "ok"}}),
        AuditEvent(type="offline.replayed", resource="account:tom",  # no workflow ran
                   payload={"kit_id": "kit-a", "decision": "deny"}),
    ]  # fmt: skip
    for seq, event in enumerate(events):
        record = seal_record(event, seq=seq, prev=prev, time=datetime.now(UTC), signer=signer)
        central.append(record.line)
        prev = record.hash

    own = own_executions(central, 0, "kit-a")

    assert own == {"e1"}
    changes = central_changes(central, 0, "account:tom", own)
    assert [c.payload["execution"] for c in changes] == ["e2", "e3"]
    zoe = central_changes(central, 0, 'account:zoë "z"')
    assert [c.payload["execution"] for c in zoe] == ["e5"]
