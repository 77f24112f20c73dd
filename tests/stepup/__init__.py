"""Shared helpers for the step-up tests: a settable clock, fast settings, codes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp

from gateway.audit.records import AuditEvent
from gateway.stepup import Enrolment, StepUpService, StepUpSettings, StepUpStore
from gateway.storage import Backend

# 2024-05-01T09:30:00Z is 1714555800 s, a multiple of 30: the start of a time step.
START = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


class FakeClock:
    """A clock that stays where it is put."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def fast_settings(root: Path, **changes: Any) -> StepUpSettings:
    """Settings under ``root`` with a cheap recovery-code hash, so tests stay quick."""
    options: dict[str, Any] = {
        "database": root / "var" / "stepup.db",
        "seed_key_file": root / "keys" / "stepup-seeds.key",
        "recovery_scrypt_n": 2**4,
    }
    options.update(changes)
    return StepUpSettings(**options)


def code_at(seed: str, moment: datetime, offset: int = 0) -> str:
    """The TOTP code of ``seed`` for the step ``offset`` steps from ``moment``'s."""
    return pyotp.TOTP(seed).at(moment, counter_offset=offset)


def wrong_code(seed: str, moment: datetime, window: int = 2) -> str:
    """A well-formed code that matches no step within ``window`` of ``moment``."""
    taken = {code_at(seed, moment, offset) for offset in range(-window, window + 1)}
    while True:
        candidate = f"{secrets.randbelow(10**6):06d}"
        if candidate not in taken:
            return candidate


@dataclass
class Harness:
    """A service over a temporary store, its clock and the audit events it emitted."""

    root: Path
    settings: StepUpSettings
    backend: Backend | None = None  # SQLite files unless a test gives another
    clock: FakeClock = field(default_factory=FakeClock)
    events: list[AuditEvent] = field(default_factory=list)
    seeds: list[Enrolment] = field(default_factory=list)  # kept by tests that need them
    service: StepUpService = field(init=False)

    def __post_init__(self) -> None:
        self.service = self.reopen()

    def reopen(self) -> StepUpService:
        """A new service object over the same files (a restart)."""
        return StepUpService.open(
            self.settings, clock=self.clock, audit=self.events.append, backend=self.backend
        )

    def enrol(self, user: str = "alice") -> Enrolment:
        return self.service.enrol(user)

    def types(self) -> list[str]:
        return [event.type for event in self.events]

    def code(self, enrolment: Enrolment, offset: int = 0) -> str:
        return code_at(enrolment.seed.get_secret_value(), self.clock.now, offset)

    def wrong(self, enrolment: Enrolment) -> str:
        return wrong_code(enrolment.seed.get_secret_value(), self.clock.now)


def harness(root: Path, backend: Backend | None = None, **changes: Any) -> Harness:
    return Harness(root, fast_settings(root, **changes), backend)


def elsewhere(h: Harness, sql: str, parameters: tuple[object, ...] = ()) -> list[Any]:
    """Run ``sql`` through another handle on the same store (as another process would) and
    return the rows it read."""
    other = StepUpStore(h.settings.database, backend=h.backend)
    try:
        with other.transaction() as tx:
            cursor = tx._db.execute(sql, parameters)
            return list(cursor.fetchall()) if sql.startswith("SELECT") else []
    finally:
        other.close()
