"""Merged offline segments are checked whenever the central log is verified."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest

from gateway.audit import segments
from gateway.audit.canonical import canonical_bytes
from gateway.audit.keys import Signer, raw_public_key
from gateway.audit.log import AuditLog, read_lines
from gateway.audit.records import AuditEvent, format_time
from gateway.audit.segments import SegmentChecker
from gateway.audit.verify import verify_records
from gateway.errors import VerificationError
from gateway.offline.segment import SegmentLog

NOW = datetime(2026, 5, 1, 8, tzinfo=UTC)
DIGEST = "sha256:" + "a" * 64


class Central:
    def __init__(self, folder: Path) -> None:
        self.signer = Signer.generate()
        self.device = Signer.generate()
        self.log = AuditLog(folder / "audit.log", self.signer, clock=lambda: NOW)
        self.folder = folder

    def enrol(self, kit_id: str = "kit-0000000000000001", **changes: Any) -> str:
        payload = {
            "kit_id": kit_id,
            "issued": format_time(NOW - timedelta(hours=1)),
            "expires": format_time(NOW + timedelta(hours=72)),
            "device_public_key": raw_public_key(self.device.public_key).hex(),
            "policy_digest": DIGEST,
            **changes,
        }
        return self.log.append(AuditEvent(type="offline.kit_prepared", payload=payload)).hash

    def segment(self, start: str, count: int = 2) -> list[bytes]:
        path = self.folder / f"segment-{start[:8]}.log"
        segment = SegmentLog(path, self.device, clock=lambda: NOW, start_prev=start)
        for _ in range(count):
            segment.append(AuditEvent(type="decision", policy_digest=DIGEST))
        segment.close()
        return list(read_lines(path))

    def merge(
        self,
        lines: list[bytes],
        kit_id: str = "kit-0000000000000001",
        *,
        batch: int = 0,  # lines per offline.record; 0: one offline.record per line
        **extra: Any,
    ) -> None:
        head = sha256(lines[-1]).hexdigest()
        payload = {"kit_id": kit_id, "records": len(lines), "head_hash": head, **extra}
        self.log.append(AuditEvent(type="offline.segment_merged", payload=payload))
        if batch:
            for first in range(0, len(lines), batch):
                self.records(lines[first : first + batch], first, kit_id)
            return
        for index, line in enumerate(lines):
            self.record(line, index, kit_id)

    def record(self, line: bytes, index: int, kit_id: str = "kit-0000000000000001") -> None:
        payload = {"kit_id": kit_id, "index": index, "line": line.decode()}
        self.log.append(AuditEvent(type="offline.record", payload=payload))

    def records(self, lines: Any, first: Any, kit_id: str = "kit-0000000000000001") -> int:
        lines = [line.decode() for line in lines] if isinstance(lines, list) else lines
        payload = {"kit_id": kit_id, "first": first, "lines": lines}
        return self.log.append(AuditEvent(type="offline.record", payload=payload)).seq

    def verify(self, *, check_signatures: bool = True) -> None:
        verify_records(
            read_lines(self.log.path), self.signer.public_key, check_signatures=check_signatures
        )


@pytest.fixture
def central(tmp_path: Path) -> Central:
    return Central(tmp_path)


@pytest.mark.parametrize("full", [True, False], ids=["every signature", "chain only"])
@pytest.mark.parametrize("batch", [0, 1, 2, 3], ids=["one per record", "1", "2", "3 a batch"])
def test_a_merged_segment_verifies_with_the_central_key_alone(
    central: Central, full: bool, batch: int
) -> None:
    central.merge(central.segment(central.enrol(), count=5), batch=batch)

    central.verify(check_signatures=full)


@pytest.mark.parametrize("full", [True, False], ids=["every signature", "chain only"])
def test_a_forged_line_inside_a_batch_names_the_central_and_the_segment_record(
    central: Central, full: bool
) -> None:
    lines = central.segment(central.enrol(), count=5)
    forged = json.loads(lines[3])
    forged["actor"] = "mallory"
    lines[3] = canonical_bytes(forged)
    central.merge(lines, batch=2)  # central 2: lines 0-1, 3: lines 2-3, 4: line 4

    with pytest.raises(VerificationError) as caught:
        central.verify(check_signatures=full)

    assert caught.value.kind == "bad segment"
    assert caught.value.sequence == 3
    assert "segment record 3: bad signature" in str(caught.value)


@pytest.mark.parametrize(
    ("lines", "first", "message"),
    [
        ("not a list", 0, "segment records outside a merge"),
        ([], 0, "segment records outside a merge"),
        ([b"x"] * 3, 0, "segment records outside a merge"),  # more than the merge holds
        (None, 1, "segment records from 1, expected 0"),
        (None, True, "segment records from True, expected 0"),
        (None, None, "segment records from None, expected 0"),
    ],
    ids=["not a list", "empty", "too many", "skips a line", "not an integer", "no first"],
)
def test_a_malformed_batch_is_named(central: Central, lines: Any, first: Any, message: str) -> None:
    segment = central.segment(central.enrol())
    central.log.append(
        AuditEvent(
            type="offline.segment_merged",
            payload={"kit_id": "kit-0000000000000001", "records": 2,
                     "head_hash": sha256(segment[-1]).hexdigest()},
        )
    )  # fmt: skip
    seq = central.records(segment[:1] if lines is None else lines, first)

    with pytest.raises(VerificationError, match=message) as caught:
        central.verify()

    assert (caught.value.kind, caught.value.sequence) == ("malformed record", seq)


def test_a_batch_longer_than_the_limit_is_malformed(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments, "MERGE_BATCH", 2)
    central.merge(central.segment(central.enrol(), count=3), batch=3)

    with pytest.raises(VerificationError, match="segment records outside a merge"):
        central.verify()


def test_an_old_form_line_that_is_not_text_is_malformed(central: Central) -> None:
    first, second = central.segment(central.enrol())
    central.log.append(
        AuditEvent(
            type="offline.segment_merged",
            payload={"kit_id": "kit-0000000000000001", "records": 2,
                     "head_hash": sha256(second).hexdigest()},
        )
    )  # fmt: skip
    central.record(first, 0)
    central.log.append(
        AuditEvent(type="offline.record", payload={"kit_id": "kit-0000000000000001", "line": 7})
    )

    with pytest.raises(VerificationError, match="segment records outside a merge"):
        central.verify()


@pytest.mark.parametrize("full", [True, False], ids=["every signature", "chain only"])
def test_a_forged_segment_line_in_the_central_log_is_located(central: Central, full: bool) -> None:
    first, second = central.segment(central.enrol())
    forged = json.loads(second)
    forged["actor"] = "mallory"
    central.merge([first, canonical_bytes(forged)])

    with pytest.raises(VerificationError) as caught:
        central.verify(check_signatures=full)

    assert caught.value.kind == "bad segment"
    assert caught.value.sequence == 3  # enrolment, merge, line 0, line 1
    assert "segment record 1: bad signature" in str(caught.value)


def test_a_merge_of_an_unknown_kit_is_refused(central: Central) -> None:
    lines = central.segment(central.enrol())
    central.merge(lines, kit_id="kit-0000000000000009")

    with pytest.raises(VerificationError, match="unknown kit: no kit kit-0000000000000009"):
        central.verify()


def test_a_merge_after_the_kit_was_revoked_is_refused(central: Central) -> None:
    lines = central.segment(central.enrol())
    central.log.append(
        AuditEvent(type="offline.kit_revoked", payload={"kit_id": "kit-0000000000000001"})
    )
    central.merge(lines)

    with pytest.raises(VerificationError, match="revoked kit: kit kit-0000000000000001 was"):
        central.verify()


def test_a_merge_cut_short_is_incomplete(central: Central) -> None:
    first, second = central.segment(central.enrol())
    central.merge([first, second])
    lines = list(read_lines(central.log.path))
    central.log.path.write_bytes(b"".join(line + b"\n" for line in lines[:-1]))

    with pytest.raises(VerificationError, match="incomplete merge: kit kit-0000000000000001"):
        central.verify()


def test_a_merge_whose_head_differs_from_its_lines_is_refused(central: Central) -> None:
    lines = central.segment(central.enrol())
    central.merge(lines, head_hash="f" * 64)

    with pytest.raises(VerificationError, match="the segment's head is"):
        central.verify()


def test_a_segment_line_outside_a_merge_is_malformed(central: Central) -> None:
    first, _ = central.segment(central.enrol())
    central.record(first, 0)

    with pytest.raises(VerificationError, match="segment records outside a merge"):
        central.verify()


def test_a_merge_without_its_checkpoint_is_malformed(central: Central) -> None:
    central.enrol()
    central.log.append(
        AuditEvent(type="offline.segment_merged", payload={"kit_id": "kit-0000000000000001"})
    )

    with pytest.raises(VerificationError, match="a merge without its checkpoint"):
        central.verify()


def test_an_enrolment_without_a_device_key_is_malformed(central: Central) -> None:
    central.enrol(device_public_key="not hex")

    with pytest.raises(VerificationError, match="kit enrolment without its device key"):
        central.verify()


def test_an_empty_merge_closes_at_once(central: Central) -> None:
    start = central.enrol()
    central.log.append(
        AuditEvent(
            type="offline.segment_merged",
            payload={"kit_id": "kit-0000000000000001", "records": 0, "head_hash": start},
        )
    )

    central.verify()
    assert SegmentChecker().open == {}


def test_a_payload_that_only_mentions_an_offline_type_is_not_a_kit_record(
    central: Central,
) -> None:
    central.log.append(AuditEvent(type="note.made", payload={"type": "offline.record"}))

    central.verify(check_signatures=False)


def test_a_segment_record_that_is_a_key_rotation_is_refused(central: Central) -> None:
    start = central.enrol()
    path = central.folder / "rotating.log"
    segment = SegmentLog(path, central.device, clock=lambda: NOW, start_prev=start)
    segment.rotate_key(Signer.generate())
    segment.close()
    central.merge(list(read_lines(path)))

    with pytest.raises(VerificationError, match="segment record 0: unknown key"):
        central.verify()


def test_segment_records_spliced_from_another_segment_break_the_chain(
    central: Central,
) -> None:
    first, _ = central.segment(central.enrol())
    _, spliced = central.segment("c" * 64)
    central.merge([first, spliced])

    with pytest.raises(VerificationError, match="segment record 1: broken chain"):
        central.verify()


def _merge_part(central: Central, lines: list[bytes], first: int, start: str, number: int) -> None:
    """Merge ``lines`` (chain records ``first`` on) as the kit's merge ``number``."""
    payload = {
        "kit_id": "kit-0000000000000001", "records": len(lines), "first": first,
        "start_prev": start, "segment": number, "head_hash": sha256(lines[-1]).hexdigest(),
    }  # fmt: skip
    central.log.append(AuditEvent(type="offline.segment_merged", payload=payload))
    central.records(lines, first)


@pytest.mark.parametrize("full", [True, False], ids=["every signature", "chain only"])
def test_segments_merged_in_order_verify_as_one_chain(central: Central, full: bool) -> None:
    enrolment = central.enrol()
    lines = central.segment(enrolment, count=5)
    _merge_part(central, lines[:2], 0, enrolment, 1)
    central.log.append(AuditEvent(type="note.made"))  # central work between the merges
    _merge_part(central, lines[2:], 2, sha256(lines[1]).hexdigest(), 2)

    central.verify(check_signatures=full)


@pytest.mark.parametrize(
    ("part", "first", "start", "number", "what"),
    [
        (slice(0, 2), 0, "enrolment", 2, "a fork"),  # the first records merged again
        (slice(3, 5), 3, 2, 2, "a gap"),  # record 2 skipped
        (slice(2, 5), 2, 1, 3, "a fork"),  # misnumbered
    ],
    ids=["a second merge from the enrolment", "a merge that skips a record", "a wrong number"],
)
def test_a_merge_that_does_not_continue_the_kit_is_located(
    central: Central, part: slice, first: int, start: Any, number: int, what: str
) -> None:
    enrolment = central.enrol()
    lines = central.segment(enrolment, count=5)
    _merge_part(central, lines[:2], 0, enrolment, 1)
    prev = enrolment if start == "enrolment" else sha256(lines[start]).hexdigest()

    _merge_part(central, lines[part], first, prev, number)

    with pytest.raises(VerificationError) as caught:
        central.verify()
    assert (caught.value.kind, caught.value.sequence) == ("bad segment", 3)
    assert f"the kit's merged records end at 2 with {sha256(lines[1]).hexdigest()[:16]}" in str(
        caught.value
    )
    assert f"({what})" in str(caught.value)


@pytest.mark.parametrize(
    "member", [{"first": "0"}, {"segment": True}, {"start_prev": 7}], ids=lambda m: str(m)
)
def test_a_merge_whose_place_in_the_chain_is_not_spelled_right_is_malformed(
    central: Central, member: dict[str, Any]
) -> None:
    central.merge(central.segment(central.enrol()), **member)

    with pytest.raises(VerificationError, match="a merge without its checkpoint"):
        central.verify()


def test_a_merge_of_a_negative_number_of_records_is_malformed(central: Central) -> None:
    central.merge(central.segment(central.enrol()), records=-1)

    with pytest.raises(VerificationError) as caught:
        central.verify()
    assert caught.value.kind == "malformed record"  # as the format document says


def test_a_second_segment_whose_clock_went_back_is_refused(central: Central) -> None:
    enrolment = central.enrol()
    early = central.segment(enrolment, count=2)
    path = central.folder / "late.log"
    path.write_bytes(early[0] + b"\n" + early[1] + b"\n")
    segment = SegmentLog(path, central.device, clock=lambda: NOW - timedelta(minutes=1))
    segment.append(AuditEvent(type="decision", policy_digest=DIGEST))
    segment.close()
    third = list(read_lines(path))[2]
    _merge_part(central, early, 0, enrolment, 1)
    _merge_part(central, [third], 2, sha256(early[1]).hexdigest(), 2)

    with pytest.raises(VerificationError, match="segment record 2: clock went backwards"):
        central.verify()
