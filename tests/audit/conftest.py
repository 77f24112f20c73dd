"""Shared helpers for the audit log tests: keys, clocks, sample logs and line surgery."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.canonical import canonical_bytes
from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog, read_lines
from gateway.audit.records import AuditEvent
from gateway.audit.verify import VerifyReport, verify_records

START = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def stepping_clock(start: datetime = START) -> Callable[[], datetime]:
    """A clock that moves one second forward every time it is read."""
    moments = (start + timedelta(seconds=second) for second in range(10**9))
    return lambda: next(moments)


def lines_of(path: Path) -> list[bytes]:
    """The stored lines of a log file, without their newlines."""
    return list(read_lines(path))


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def body_of(line: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(line)
    return body


def reencode(line: bytes, **changes: Any) -> bytes:
    """``line`` with some fields replaced, encoded canonically (so only its meaning changed)."""
    return canonical_bytes({**body_of(line), **changes})


def verify_path(path: Path, signer: Signer, **options: Any) -> VerifyReport:
    return verify_records(read_lines(path), signer.public_key, **options)


@dataclass
class SampleLog:
    """A log written by ``AuditLog``: records 0-2 by ``first``, 3 rotates to ``second``,
    4-5 by ``second``."""

    path: Path
    first: Signer
    second: Signer

    @property
    def lines(self) -> list[bytes]:
        return lines_of(self.path)


SAMPLE_EVENTS = [
    AuditEvent(
        type="decision.made",
        actor="elena",
        action="printer.reboot",
        resource="printer:3f-east",
        decision_id="d-0001",
        policy_digest="sha256:" + "a" * 64,
        payload={"effect": "allow", "reasons": ["role:helpdesk"]},
    ),
    AuditEvent(
        type="decision.made",
        actor="omar",
        action="user.unlock",
        resource="user:grace",
        decision_id="d-0002",
        policy_digest="sha256:" + "b" * 64,
        payload={"effect": "deny", "password": "hunter2"},
    ),
    AuditEvent(
        type="action.executed",
        actor="grace",
        action="mailbox.restore",
        resource="mailbox:grace",
        decision_id="d-0003",
        policy_digest="sha256:" + "c" * 64,
        payload={"items": 12, "nested": {"ok": True, "note": "caf\u00e9 \u2603"}},
    ),
]
AFTER_ROTATION_EVENTS = [
    AuditEvent(type="decision.made", actor="li", action="vpn.reset", payload={"n": -5}),
    AuditEvent(type="action.executed", actor="li", action="vpn.reset", payload={}),
]


def write_sample_log(path: Path) -> SampleLog:
    first, second = Signer.generate(), Signer.generate()
    with AuditLog(path, first, clock=stepping_clock()) as log:
        for event in SAMPLE_EVENTS:
            log.append(event)
        log.rotate_key(second)
        for event in AFTER_ROTATION_EVENTS:
            log.append(event)
    return SampleLog(path, first, second)


@pytest.fixture
def sample_log(tmp_path: Path) -> SampleLog:
    return write_sample_log(tmp_path / "audit.log")


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def audit_log(tmp_path: Path, signer: Signer) -> Iterator[AuditLog]:
    with AuditLog(tmp_path / "audit.log", signer, clock=stepping_clock()) as log:
        yield log
