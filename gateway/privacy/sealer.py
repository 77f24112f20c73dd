"""Sealing a record's personal fields as it is appended, and opening them to read.

``PersonalDataSealer`` is the audit log's ``sealer``: after secrets are redacted and
before the record is signed, each payload member the classification names personal is
replaced by its envelope, under the data key of the person it is about, for the record's
type and month.  The signature and the Merkle leaf then cover the sealed form.

``open_payload`` is the other way: the payload with each envelope replaced by its value
when the key is there, and the state of each sealed field (``opened``, ``erased``,
``unavailable``).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from gateway.audit.records import AuditEvent, AuditRecord
from gateway.audit.redaction import REDACTED
from gateway.clock import Clock, utcnow
from gateway.privacy.classification import (
    CLASSIFICATION,
    PERSON_RESOURCES,
    UNATTRIBUTED,
    EventClass,
    Subject,
)
from gateway.privacy.envelope import EnvelopeError, open_envelope, read_envelope, seal_value
from gateway.privacy.keystore import DataKeyStore, KeyState, period_of
from gateway.privacy.settings import PrivacySettings
from gateway.storage import Backend

__all__ = [
    "ERASED",
    "UNAVAILABLE",
    "OpenedPayload",
    "PersonalDataSealer",
    "open_payload",
    "open_record",
    "open_sealer",
    "subject_of",
]

ERASED = "erased"
UNAVAILABLE = "unavailable"
OPENED = "opened"


def subject_of(rule: EventClass, actor: str | None, resource: str | None) -> str:
    """The person whose data key seals a record's personal fields."""
    if rule.subject is Subject.RESOURCE_USER and resource:
        kind, _, person = resource.partition(":")
        if kind in PERSON_RESOURCES and person:
            return person
    return actor or UNATTRIBUTED


class PersonalDataSealer:
    """Seals personal payload members with per-person data keys (``AuditLog.sealer``)."""

    def __init__(
        self,
        keys: DataKeyStore,
        classification: Mapping[str, EventClass] = CLASSIFICATION,
        clock: Clock = utcnow,
    ) -> None:
        self.keys = keys
        self.classification = classification
        self.clock = clock

    def __call__(self, event: AuditEvent, payload: dict[str, Any], time: str) -> dict[str, Any]:
        rule = self.classification.get(event.type)
        if rule is None or rule.signed_embed:
            return payload
        names = [
            name
            for name in rule.personal
            if payload.get(name) is not None and payload[name] != REDACTED
        ]
        if not names:
            return payload
        person = subject_of(rule, event.actor, event.resource)
        kid, key = self.keys.key_for(person, event.type, period_of(time), self._now())
        sealed = dict(payload)
        for name in names:
            sealed[name] = seal_value(
                payload[name], key=key, kid=kid, event_type=event.type, field=f"payload.{name}"
            )
        return sealed

    def batch(self) -> AbstractContextManager[None]:
        """Records sealed within the block are sealed as of one reading of the key
        store's erasure generation (``DataKeyStore.batch``): an audit log seals a batch
        of records in one."""
        return self.keys.batch()

    def _now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        self.keys.close()


def open_sealer(settings: PrivacySettings, backend: Backend | None = None) -> PersonalDataSealer:
    """The sealer over the configured data key store, on ``backend`` (the store's own
    SQLite file when not given)."""
    return PersonalDataSealer(DataKeyStore(settings.key_store, backend))


@dataclass(frozen=True)
class OpenedPayload:
    """A payload as a reader may see it, and what became of each sealed member."""

    payload: dict[str, Any]
    fields: dict[str, str]  # "payload.NAME" -> opened | erased | unavailable
    key_ids: dict[str, str]  # "payload.NAME" -> the data key id that sealed it


def open_payload(
    event_type: str, payload: Mapping[str, Any], keys: DataKeyStore | None
) -> OpenedPayload:
    """``payload`` with every sealed member opened when its key is in ``keys``; an erased
    key shows ``"erased"``, a missing store, an unknown key or a value that does not
    open shows ``"unavailable"``."""
    shown: dict[str, Any] = {}
    states: dict[str, str] = {}
    kids: dict[str, str] = {}
    for name, value in payload.items():
        field = f"payload.{name}"
        try:
            envelope = read_envelope(value)
        except EnvelopeError:
            shown[name], states[field] = UNAVAILABLE, UNAVAILABLE
            continue
        if envelope is None:
            shown[name] = value
            continue
        kids[field] = envelope.kid
        status = keys.status(envelope.kid) if keys is not None else None
        if status is None or status.state is KeyState.UNKNOWN or status.key is None:
            state = (
                ERASED if status is not None and status.state is KeyState.ERASED else UNAVAILABLE
            )
            shown[name], states[field] = state, state
            continue
        try:
            shown[name] = open_envelope(
                envelope, key=status.key, event_type=event_type, field=field
            )
            states[field] = OPENED
        except EnvelopeError:
            shown[name], states[field] = UNAVAILABLE, UNAVAILABLE
    return OpenedPayload(shown, states, kids)


def open_record(record: AuditRecord, keys: DataKeyStore | None) -> AuditRecord:
    """``record`` as a reader with ``keys`` sees it: its payload with sealed members opened
    (or ``"erased"``/``"unavailable"``); its line, hash and signature unchanged."""
    return replace(record, payload=open_payload(record.type, record.payload, keys).payload)
