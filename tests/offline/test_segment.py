"""The local segment log starts its chain where it is told: a given ``seq`` and ``prev``,
through its own public fields, not the audit log file's private state."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from gateway.audit.keys import Signer
from gateway.audit.records import GENESIS_PREV, AuditEvent
from gateway.offline import segment as segment_module
from gateway.offline.segment import SegmentLog, SegmentStart, close_segment

START = "ab" * 32


def test_a_segment_log_starts_at_the_given_seq_and_prev_hash(tmp_path: Path) -> None:
    log = SegmentLog.starting_at(tmp_path / "kit.segment.log", Signer.generate(),
                                 SegmentStart(seq=7, prev=START))  # fmt: skip
    first = log.append(AuditEvent(type="troubleshooting.answered", actor="elena"))
    second = log.append(AuditEvent(type="troubleshooting.answered", actor="elena"))
    log.close()

    assert (first.seq, first.prev) == (7, START)
    assert (second.seq, second.prev) == (8, first.hash)
    assert log.start == SegmentStart(7, START)
    reopened = SegmentLog.starting_at(tmp_path / "kit.segment.log", log.signer,
                                      SegmentStart(seq=7, prev=START))  # fmt: skip
    third = reopened.append(AuditEvent(type="troubleshooting.answered"))  # the file goes on
    reopened.close()
    assert (third.seq, third.prev) == (9, second.hash)


def test_a_new_segment_after_a_closed_one_goes_on_from_its_last_record(tmp_path: Path) -> None:
    path, signer = tmp_path / "kit.segment.log", Signer.generate()
    log = SegmentLog(path, signer, start_prev=START)
    log.append(AuditEvent(type="troubleshooting.answered"))
    closed = close_segment(log)

    after = SegmentLog(path, signer, start_prev=START)
    record = after.append(AuditEvent(type="troubleshooting.answered"))
    after.close()

    assert after.start == SegmentStart(2, closed.head_hash)
    assert (record.seq, record.prev) == (2, closed.head_hash)
    assert json.loads(path.read_text())["seq"] == 2
    assert SegmentStart() == SegmentStart(0, GENESIS_PREV)


def test_the_segment_log_uses_only_public_names_of_the_audit_package() -> None:
    tree = ast.parse(Path(str(segment_module.__file__)).read_text())
    private = [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gateway.audit")
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []
