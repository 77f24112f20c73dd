"""One ``AuditSink`` for the whole package: ``gateway.audit.sink``."""

from __future__ import annotations

import gateway.enforcement
from gateway.audit.log import AuditLog, read_lines
from gateway.audit.records import AuditEvent, parse_record
from gateway.audit.sink import AuditSink
from tests.sources import places, written_as


def test_no_module_writes_its_own_audit_sink() -> None:
    found = places(lambda node: written_as(node, "Callable[[AuditEvent], object]"))
    assert [place.split(":")[0] for place in found] == ["gateway/audit/sink.py"]


def test_the_enforcement_seam_offers_the_same_sink() -> None:
    assert gateway.enforcement.AuditSink is AuditSink


def test_an_audit_log_append_is_a_sink(audit_log: AuditLog) -> None:
    sink: AuditSink = audit_log.append
    sink(AuditEvent(type="example", actor="elena", action="read", resource="ticket:1"))
    [line] = read_lines(audit_log.path)
    assert parse_record(line, 0).actor == "elena"
