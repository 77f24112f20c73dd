"""A field kit's enrolment written straight into a central log, for tests that merge
segments signed by a device key of their own."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.audit.keys import Signer, raw_public_key
from gateway.audit.records import AuditEvent, format_time
from gateway.audit.store import AuditStore


def enrol_kit(log: AuditStore, device: Signer, *, kit: str, digest: str, now: datetime) -> str:
    """Appends ``offline.kit_prepared`` for ``kit`` (valid from an hour before ``now`` for
    72 hours, signed by ``device``) and returns its record's hash."""
    payload = {
        "kit_id": kit,
        "issued": format_time(now - timedelta(hours=1)),
        "expires": format_time(now + timedelta(hours=72)),
        "device_public_key": raw_public_key(device.public_key).hex(),
        "device_key_id": device.key_id,
        "policy_digest": digest,
    }
    return log.append(AuditEvent(type="offline.kit_prepared", payload=payload)).hash
