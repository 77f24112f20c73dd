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

from .conftest import invoke
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
