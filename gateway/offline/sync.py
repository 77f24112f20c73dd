"""``sync_segment``: verify a segment a laptop brings back, merge it, replay its queue.

In this order:

1. identify the kit: the segment's first ``prev`` is the hash of the kit's
   ``offline.kit_prepared`` record in the central log (``--kit`` must name the same kit);
2. refuse a kit that was revoked, and a segment that does not verify
   (``gateway.audit.segments.SegmentVerifier``): the segment is kept aside in the
   quarantine folder with the reason naming the first bad record, an
   ``offline.segment_refused`` record is appended and an alert sent; nothing is replayed;
3. a segment whose head is already merged is not merged again (idempotent);
4. append ``offline.segment_merged`` and ``offline.record`` records carrying the segment's
   lines, ``MERGE_BATCH`` at a time (one central signature per batch, not per line);
5. replay the queued actions (``offline.action_queued``) with fresh decisions on current
   facts, reporting central changes to the same resource since the kit was made.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from gateway.audit.log import AuditLog, read_lines
from gateway.audit.records import AuditEvent, AuditRecord, parse_record
from gateway.audit.segments import (
    ACTION_QUEUED,
    MERGE_BATCH,
    OFFLINE_RECORD,
    SEGMENT_MERGED,
    SEGMENT_REFUSED,
    EnrolledDevice,
    SegmentVerifier,
)
from gateway.errors import VerificationError
from gateway.notify.model import Notification, NotificationKind
from gateway.notify.notifier import Notifier
from gateway.offline.batch import append_batch
from gateway.offline.errors import SegmentError
from gateway.offline.registry import EnrolledKit, KitRegistry

__all__ = ["QueuedAction", "Replay", "SyncOutcome", "merge_segment", "sync_segment"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]")  # a name kept in the quarantine folder
Status = Literal["merged", "already merged", "refused"]


@dataclass(frozen=True)
class QueuedAction:
    """A request refused offline and queued; ``conflicts`` are the central records that
    changed the same resource after the kit was made."""

    kit_id: str
    index: int  # in the segment
    actor: str
    action: str
    resource: str
    context: dict[str, Any]
    workflow: str | None
    parameters: dict[str, Any]
    conflicts: tuple[int, ...]


Replay = Callable[[QueuedAction], dict[str, Any]]


@dataclass(frozen=True)
class SyncOutcome:
    status: Status
    kit_id: str | None
    records: int
    head_hash: str | None = None
    record: int | None = None  # the central record that merged (or refused) it
    reason: str | None = None
    quarantined: str | None = None
    replayed: tuple[dict[str, Any], ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "kit_id": self.kit_id,
            "records": self.records,
            "head_hash": self.head_hash,
            "record": self.record,
            "reason": self.reason,
            "quarantined": self.quarantined,
            "replayed": list(self.replayed),
        }


def _device(kit: EnrolledKit) -> EnrolledDevice:
    try:
        return EnrolledDevice.from_record(kit.record, kit.seq)
    except VerificationError as exc:
        raise SegmentError("unknown kit", f"kit {kit.kit_id}'s enrolment is unreadable") from exc


def _identify(lines: Sequence[bytes], registry: KitRegistry, kit_id: str | None) -> EnrolledKit:
    if not lines:
        raise SegmentError("empty", "the segment holds no record")
    first = parse_record(lines[0], 0)
    kit = next((k for k in registry.kits.values() if k.hash == first.prev), None)
    if kit is None:
        raise SegmentError(
            "unknown kit", f"record 0's prev {first.prev[:16]}... is no enrolled kit", 0
        )
    if kit_id is not None and kit.kit_id != kit_id:
        raise SegmentError("wrong kit", f"the segment belongs to {kit.kit_id}, not {kit_id}")
    if kit.kit_id in registry.revoked:
        raise SegmentError(
            "revoked kit", f"kit {kit.kit_id} was revoked by record {registry.revoked[kit.kit_id]}"
        )
    return kit


def _verify(lines: Sequence[bytes], kit: EnrolledKit) -> tuple[SegmentVerifier, list[AuditRecord]]:
    verifier = SegmentVerifier(_device(kit))
    records = []
    for line in lines:
        try:
            records.append(verifier.add(line))
        except VerificationError as exc:
            raise SegmentError(exc.kind, str(exc).split(": ", 2)[-1], exc.sequence) from exc
    return verifier, records


def _quarantine(name: str, data: bytes, folder: Path, now: datetime, reason: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{name}.{stamp}"
    target.write_bytes(data)
    target.with_name(target.name + ".reason").write_text(reason + "\n", encoding="utf-8")
    return target


def _refuse(
    name: str,
    data: bytes,
    error: SegmentError,
    kit_id: str | None,
    *,
    audit: AuditLog,
    notifier: Notifier | None,
    quarantine: Path,
    now: datetime,
    actor: str,
) -> SyncOutcome:
    reason = str(error)
    record = audit.append(
        AuditEvent(
            type=SEGMENT_REFUSED,
            actor=actor,
            payload={
                "kit_id": kit_id,
                "reason": reason,
                "kind": error.kind,
                "first_bad_record": error.record,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file": name,
            },
        )
    )
    kept = _quarantine(name, data, quarantine, now, reason)
    if notifier is not None:
        notifier.send(
            Notification(
                kind=NotificationKind.ALERT,
                title="Offline segment refused",
                text=f"{name}: {reason} (kept aside as {kept.name})",
                fields={"kit": kit_id or "unknown", "record": str(record.seq)},
            )
        )
    return SyncOutcome(
        "refused", kit_id, 0, record=record.seq, reason=reason, quarantined=str(kept)
    )


def _queued(
    kit: EnrolledKit, records: list[AuditRecord], central: Sequence[bytes]
) -> list[QueuedAction]:
    actions = []
    for index, record in enumerate(records):
        if record.type != ACTION_QUEUED or record.actor is None or record.resource is None:
            continue
        payload = record.payload
        conflicts = _conflicts(central, kit.seq, record.resource)
        actions.append(
            QueuedAction(
                kit_id=kit.kit_id,
                index=index,
                actor=record.actor,
                action=str(record.action),
                resource=record.resource,
                context=dict(payload.get("context") or {}),
                workflow=payload.get("workflow"),
                parameters=dict(payload.get("parameters") or {}),
                conflicts=conflicts,
            )
        )
    return actions


def _conflicts(central: Sequence[bytes], since: int, resource: str) -> tuple[int, ...]:
    """Central changes to ``resource`` after record ``since``: records other than
    decisions and offline bookkeeping that name it."""
    needle = f'"resource":"{resource}"'.encode()
    found = []
    for seq in range(since + 1, len(central)):
        line = central[seq]
        if needle in line:
            record = parse_record(line, seq)
            if record.type != "decision" and not record.type.startswith("offline."):
                found.append(seq)
    return tuple(found)


def sync_segment(
    segment: Path,
    *,
    audit: AuditLog,
    quarantine: Path,
    now: datetime,
    actor: str,
    notifier: Notifier | None = None,
    kit_id: str | None = None,
    replay: Replay | None = None,
) -> SyncOutcome:
    """Verify and merge the segment file ``segment``; see ``merge_segment``."""
    try:
        data = segment.read_bytes()
    except OSError as exc:
        raise SegmentError("unreadable", f"{segment}: {exc.strerror}") from exc
    return merge_segment(
        data, segment.name, audit=audit, quarantine=quarantine, now=now, actor=actor,
        notifier=notifier, kit_id=kit_id, replay=replay,
    )  # fmt: skip


def merge_segment(
    data: bytes,
    name: str,
    *,
    audit: AuditLog,
    quarantine: Path,
    now: datetime,
    actor: str,
    notifier: Notifier | None = None,
    kit_id: str | None = None,
    replay: Replay | None = None,
    batch: int | None = None,
) -> SyncOutcome:
    """Verify and merge a segment's bytes (``name`` names it in records and the
    quarantine) into ``audit``'s log, ``batch`` lines per ``offline.record`` (1 to
    ``MERGE_BATCH``, the default); see the module docstring."""
    name = _SAFE.sub("_", name)[:100] or "segment"
    lines = data.split(b"\n")
    if lines[-1] == b"":  # the newline ending the last record
        lines.pop()
    central = list(read_lines(audit.path)) if audit.path.exists() else []
    registry = KitRegistry.read(central)
    found: str | None = None
    try:
        kit = _identify(lines, registry, kit_id)
        found = kit.kit_id
        verifier, records = _verify(lines, kit)
    except (SegmentError, VerificationError) as exc:
        error = exc if isinstance(exc, SegmentError) else SegmentError(exc.kind, str(exc), 0)
        return _refuse(
            name, data, error, found,
            audit=audit, notifier=notifier, quarantine=quarantine, now=now, actor=actor,
        )  # fmt: skip
    summary = verifier.summary()
    if summary["head_hash"] in registry.merged:
        return SyncOutcome(
            "already merged", kit.kit_id, len(records), summary["head_hash"],
            registry.merged[summary["head_hash"]],
        )  # fmt: skip
    if kit.kit_id in registry.merged_kits:
        error = SegmentError(
            "already merged",
            f"kit {kit.kit_id} merged another segment by record "
            f"{registry.merged_kits[kit.kit_id]}; a kit merges one segment",
        )
        return _refuse(
            name, data, error, kit.kit_id,
            audit=audit, notifier=notifier, quarantine=quarantine, now=now, actor=actor,
        )  # fmt: skip
    size = max(1, min(batch or MERGE_BATCH, MERGE_BATCH))  # what a verifier accepts
    events = [AuditEvent(type=SEGMENT_MERGED, actor=actor, payload=summary)]
    events += [
        AuditEvent(
            type=OFFLINE_RECORD,
            payload={
                "kit_id": kit.kit_id,
                "first": first,
                "lines": [line.decode("utf-8") for line in lines[first : first + size]],
            },
        )
        for first in range(0, len(lines), size)
    ]
    written = append_batch(audit, events)
    replayed = tuple(replay(item) for item in _queued(kit, records, central)) if replay else ()
    return SyncOutcome(
        "merged", kit.kit_id, len(records), summary["head_hash"], written[0].seq,
        replayed=replayed,
    )  # fmt: skip
