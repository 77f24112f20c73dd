"""Opening the sealed facts of decision records before they are replayed.

Where personal fields are sealed (``[privacy] seal``), a decision record's ``facts`` is an
envelope under the data key of the person it is about.  Replay needs them in the clear:
each is opened with the data key store (one key look-up per data key, not per record);
facts whose key was erased, is unknown or does not open become ``"erased"`` or
``"unavailable"``, which the replay counts as not replayable, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from gateway.audit.records import AuditRecord
from gateway.privacy.envelope import Envelope, EnvelopeError, open_envelope, read_envelope
from gateway.privacy.keystore import DataKeyStore, KeyState, KeyStatus
from gateway.storage import StorageSettings

__all__ = ["open_sealed_facts"]

_FIELD = "payload.facts"


def open_sealed_facts(
    records: Iterable[AuditRecord], key_store: Path, storage: StorageSettings | None = None
) -> Iterator[AuditRecord]:
    """``records`` with the sealed ``facts`` of decision records opened where the data key
    store (shared on PostgreSQL, per ``storage``; else the file ``key_store``, when it
    exists) still holds their key."""
    store = DataKeyStore.for_reading(key_store, storage)
    known: dict[str, KeyStatus] = {}
    try:
        for record in records:
            facts = record.payload.get("facts") if record.type == "decision" else None
            if facts is None:
                yield record
                continue
            try:
                envelope = read_envelope(facts)
            except EnvelopeError:
                yield _with_facts(record, "unavailable")
                continue
            if envelope is None:  # in the clear
                yield record
                continue
            status = known.get(envelope.kid)
            if status is None:
                found = store.status(envelope.kid) if store is not None else None
                status = known[envelope.kid] = found or KeyStatus(KeyState.UNKNOWN)
            opened = _opened(envelope, status, record.type)
            yield _with_facts(record, opened)
    finally:
        if store is not None:
            store.close()


def _with_facts(record: AuditRecord, facts: object) -> AuditRecord:
    r = record  # positional: several times cheaper than ``dataclasses.replace``
    return AuditRecord(
        r.seq, r.time, r.prev, r.type, r.actor, r.action, r.resource, r.decision_id,
        r.policy_digest, {**r.payload, "facts": facts}, r.redacted, r.key_id, r.signature, r.line,
    )  # fmt: skip


def _opened(envelope: Envelope, status: KeyStatus, event_type: str) -> object:
    if status.key is None:
        return "erased" if status.state is KeyState.ERASED else "unavailable"
    try:
        return open_envelope(envelope, key=status.key, event_type=event_type, field=_FIELD)
    except EnvelopeError:
        return "unavailable"
