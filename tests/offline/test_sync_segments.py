"""Several segments per kit: work goes on offline after a sync, and each later segment
merges only when it continues the kit's chain from the last merged record."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.keys import load_public_key
from gateway.audit.records import AuditEvent, parse_record
from gateway.offline.kit import load_kit
from gateway.offline.segment import SegmentLog

from .conftest import audit_lines
from .test_sync import _now, lines, offline, refused, segment_of, sync, verify, work_offline

Prepare = Callable[..., dict[str, object]]


@pytest.fixture
def kit(prepare: Prepare) -> Path:
    return Path(str(prepare()["kit"]))


def diagnose(kit: Path, host: str = "tom-laptop") -> None:
    code, _, err = offline(kit, "authorize", "--actor", "elena", "--action", "diagnostics.run",
                           "--resource", f"host:{host}")  # fmt: skip
    assert code == 0, err


def close_segment(kit: Path) -> dict[str, Any]:
    code, out, err = offline(kit, "offline", "close-segment", "--json")
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def merges(central: Path) -> list[dict[str, Any]]:
    return [r["payload"] for r in audit_lines(central) if r["type"] == "offline.segment_merged"]  # type: ignore[misc]


def test_work_after_a_sync_merges_as_the_next_segment_of_the_same_kit(
    central: Path, kit: Path
) -> None:
    segment = work_offline(kit)
    assert sync(segment)[1]["status"] == "merged"
    diagnose(kit)  # the link went down again: the same kit, the same chain

    code, result, err = sync(segment)

    assert code == 0, err
    assert (result["status"], result["records"], result["segment"]) == ("merged", 1, 2)
    first, second = merges(central)
    assert (second["first"], second["records"]) == (3, 1)
    assert second["start_prev"] == first["head_hash"]
    assert second["head_hash"] == parse_record(lines(segment)[3], 3).hash
    [batch] = [r for r in audit_lines(central) if r["type"] == "offline.record"][1:]
    assert batch["payload"]["first"] == 3  # type: ignore[index]
    assert [line.encode() for line in batch["payload"]["lines"]] == lines(segment)[3:]  # type: ignore[index]
    assert verify(central)[0] == 0
    again = sync(segment)
    assert (again[0], again[1]["status"], again[1]["segment"]) == (0, "already merged", 2)
    assert len(merges(central)) == 2


def test_a_closed_segment_and_the_new_one_after_it_merge_in_order(central: Path, kit: Path) -> None:
    work_offline(kit)
    current = segment_of(kit)
    current.with_name(current.stem + "-old.log").write_text("not a closed segment")
    closed = close_segment(kit)
    diagnose(kit, "printer-3f")

    first, second = sync(Path(closed["closed"])), sync(current)

    assert Path(closed["closed"]).name == current.stem + "-1.log"
    assert (closed["records"], Path(closed["closed"]).exists()) == (4, True)
    assert parse_record(lines(Path(closed["closed"]))[-1], 3).type == "offline.segment_closed"
    assert [json.loads(line)["seq"] for line in lines(current)] == [4]
    assert json.loads(lines(current)[0])["prev"] == closed["head_hash"]
    assert (first[1]["status"], first[1]["records"], first[1]["segment"]) == ("merged", 4, 1)
    assert (second[1]["status"], second[1]["records"], second[1]["segment"]) == ("merged", 1, 2)
    assert [m["first"] for m in merges(central)] == [0, 4]
    assert verify(central)[0] == 0


def test_a_later_segment_synced_before_the_one_it_continues_is_a_gap(
    central: Path, kit: Path
) -> None:
    work_offline(kit)
    close_segment(kit)
    diagnose(kit)

    result, record = refused(central, segment_of(kit))

    assert "segment record 0: gap: the kit's next record is seq 0, found seq 4" in str(
        result["reason"]
    )
    assert record["payload"]["first_bad_record"] == 0  # type: ignore[index]
    assert record["payload"]["kind"] == "gap"  # type: ignore[index]


def _fork(central: Path, kit: Path, keep: list[bytes], name: str, more: int = 1) -> Path:
    """A segment of the kit's device key that keeps ``keep`` and then writes ``more``
    other records: the laptop restored from an older copy and went on working."""
    path = central / name
    path.write_bytes(b"".join(line + b"\n" for line in keep))
    loaded = load_kit(kit, load_public_key(central / "keys/audit-signing.pub"), _now())
    log = SegmentLog(path, loaded.device_signer(), start_prev=loaded.body.checkpoint.head_hash)
    for _ in range(more):
        log.append(AuditEvent(type="troubleshooting.answered", actor="elena"))
    log.close()
    return path


def test_a_segment_that_forks_from_the_merged_records_is_refused_naming_the_record(
    central: Path, kit: Path
) -> None:
    segment = work_offline(kit)
    sync(segment)
    forked = _fork(central, kit, lines(segment)[:2], "forked.segment.log")

    result, record = refused(central, forked)

    assert "segment record 2: fork: " in str(result["reason"])
    assert "merged by record" in str(result["reason"])
    assert (record["payload"]["kind"], record["payload"]["first_bad_record"]) == ("fork", 2)  # type: ignore[index]
    assert verify(central)[0] == 0


def test_a_tampered_copy_of_a_merged_record_is_a_bad_signature_not_a_fork(
    central: Path, kit: Path
) -> None:
    segment = work_offline(kit)
    sync(segment)
    found = lines(segment)
    found[1] = found[1].replace(b'"actor":"elena"', b'"actor":"sam"')
    segment.write_bytes(b"".join(line + b"\n" for line in found))

    result, record = refused(central, segment)

    assert "segment record 1: bad signature" in str(result["reason"])
    assert record["payload"]["kind"] == "bad signature"  # type: ignore[index]


def test_a_new_segment_not_chained_from_the_last_merged_record_is_a_fork(
    central: Path, kit: Path
) -> None:
    segment = work_offline(kit)
    sync(segment)
    whole = _fork(central, kit, lines(segment)[:2], "copy.segment.log", more=2)
    tail = central / "tail.segment.log"
    tail.write_bytes(lines(whole)[3] + b"\n")  # seq 3, chained from another record 2

    result, record = refused(central, tail)

    assert "segment record 3: fork: record 3's prev " in str(result["reason"])
    assert "is not the hash of the kit's last merged record" in str(result["reason"])
    assert record["payload"]["first_bad_record"] == 3  # type: ignore[index]


def test_each_merge_of_a_kit_is_numbered_and_recorded_apart(central: Path, kit: Path) -> None:
    segment = work_offline(kit)
    _, first, _ = sync(segment)
    diagnose(kit)
    _, second, _ = sync(segment)

    assert second["record"] != first["record"]
    kit_id = first["kit_id"]
    assert [m["kit_id"] for m in merges(central)] == [kit_id, kit_id]
    assert [m["segment"] for m in merges(central)] == [1, 2]


def test_a_line_that_is_no_record_after_the_first_is_named(central: Path, kit: Path) -> None:
    segment = work_offline(kit)
    first, _, third = lines(segment)
    segment.write_bytes(b"\n".join([first, b'{"seq": 1}', third]) + b"\n")

    result, _ = refused(central, segment)

    assert "segment record 1: malformed record: fields differ" in str(result["reason"])
