"""Retention: shred the data keys of records older than ``[privacy] retention`` allows.

Keys are per person, event type and calendar month, so a month's keys of a type go once
the whole month is older than the type's retention: a record stays readable for its
retention and at most one month more, and a sweep touches keys, never records.

Each rule is decided first: ``privacy.sweep`` on ``audit_records:<type>``.  Policy marks
records under legal hold by forbidding that action for their type; a sweep with such a
rule is refused whole (``RetentionRefusedError``) before any key is shredded.  Each type
with keys to shred gets a ``privacy.swept`` record, written before its keys go.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.audit.records import AuditEvent, format_time
from gateway.audit.sink import AuditSink, record_first
from gateway.clock import Clock, utcnow
from gateway.enforcement.decide import Authorizer
from gateway.policy.request import AccessRequest
from gateway.privacy.errors import RetentionRefusedError
from gateway.privacy.keystore import DataKeyStore, period_of

__all__ = [
    "SWEEP_ACTION",
    "SWEPT_EVENT",
    "RetentionSweeper",
    "Swept",
    "sweep_job",
]

SWEEP_ACTION = "privacy.sweep"
SWEPT_EVENT = "privacy.swept"


@dataclass(frozen=True)
class Swept:
    event_type: str
    retention_days: int
    before_period: str  # keys of months before this one were shredded
    data_keys: int
    decision_id: str

    def as_json(self) -> dict[str, Any]:
        return {
            "event_type": self.event_type,
            "retention_days": self.retention_days,
            "before_period": self.before_period,
            "data_keys_shredded": self.data_keys,
            "decision_id": self.decision_id,
        }


@dataclass
class RetentionSweeper:
    authorizer: Authorizer
    audit: AuditSink | None
    keys: DataKeyStore
    retention: Mapping[str, int]
    actor: str
    clock: Clock = utcnow

    def sweep(self, now: datetime | None = None) -> list[Swept]:
        """Shred what aged out; every rule decided before anything is shredded."""
        moment = now if now is not None else self.clock()
        decided: dict[str, str] = {}
        for event_type in sorted(self.retention):
            resource = f"audit_records:{event_type}"
            decision = self.authorizer.authorize(
                AccessRequest(actor=self.actor, action=SWEEP_ACTION, resource=resource)
            )
            if not decision.allowed:
                why = "; ".join(r.message for r in decision.reasons if r.effect != "note")
                raise RetentionRefusedError(
                    f"retention rule for {event_type} refused ({why}): its records are "
                    "under legal hold"
                )
            decided[event_type] = decision.decision_id
        swept: list[Swept] = []
        for event_type, decision_id in decided.items():
            days = self.retention[event_type]
            before = period_of(format_time(moment - timedelta(days=days)))
            count = self.keys.count_expired(event_type, before)
            if count:
                record_first(
                    self.audit,
                    AuditEvent(
                        type=SWEPT_EVENT,
                        actor=self.actor,
                        action=SWEEP_ACTION,
                        resource=f"audit_records:{event_type}",
                        decision_id=decision_id,
                        payload={"retention_days": days, "before_period": before,
                                 "data_keys": count},
                    ),
                )  # fmt: skip
                self.keys.erase_expired(event_type, before, moment)
            swept.append(Swept(event_type, days, before, count, decision_id))
        return swept


def sweep_job(
    sweeper: RetentionSweeper, every: timedelta = timedelta(hours=1)
) -> Callable[[], None]:
    """A background job that sweeps at most once per ``every``."""
    last: list[datetime] = []

    def job() -> None:
        now = sweeper.clock()
        if last and now - last[0] < every:
            return
        last[:] = [now]
        sweeper.sweep(now)

    return job
