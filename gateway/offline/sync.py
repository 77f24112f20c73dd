"""``sync_segment``: verify a segment a laptop brings back, merge it, replay its queue.

A kit's records form one chain (``seq`` counting on, each ``prev`` the hash of the record
before) however many segments carry them: a segment file may start from the kit's
enrolment or continue from a later record, and may repeat records already merged (a file
that grew after it was synced).  In this order, under a lock so that two merges never
interleave, on one host or several (``gateway.offline.merge_lock``), after bringing this
host's summary of the central log up to date (``gateway.offline.central``: only the
records appended since the last sync are read):

1. identify the kit: the segment's first ``prev`` is the hash of the kit's
   ``offline.kit_prepared`` record or of one of its merged records, else its device key is
   the kit's (``--kit`` must name the same kit);
2. refuse a kit that was revoked; a segment whose records the kit's merged chain already
   holds is not merged again (idempotent);
3. refuse a segment that does not continue the kit's merged chain (a ``gap``: it starts
   after the next record; a ``fork``: a record it repeats differs from the merged one, or
   its first new record does not chain from the last merged one) or whose new records do
   not verify (``gateway.audit.segments.SegmentVerifier``): the segment is kept aside in
   the quarantine folder with the reason naming the first bad record, an
   ``offline.segment_refused`` record is appended and an alert sent; nothing is replayed;
4. append ``offline.segment_merged`` and ``offline.record`` records carrying the new
   lines, ``MERGE_BATCH`` at a time (one central signature per batch, not per line);
5. replay the queued actions (``offline.action_queued``) among the new records with fresh
   decisions on current facts, reporting central changes to the same resource since the
   kit was made.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from gateway.audit.keys import raw_public_key
from gateway.audit.records import AuditEvent, AuditRecord, parse_record
from gateway.audit.redaction import SignedLines
from gateway.audit.segment_lines import LineCheck, check_line
from gateway.audit.segments import (
    ACTION_QUEUED,
    MERGE_BATCH,
    OFFLINE_RECORD,
    SEGMENT_MERGED,
    SEGMENT_REFUSED,
    EnrolledDevice,
    KitChain,
    SegmentVerifier,
)
from gateway.audit.store import AuditStore
from gateway.errors import VerificationError
from gateway.notify.model import Notification, NotificationKind
from gateway.notify.notifier import Notifier
from gateway.offline.batch import append_batch
from gateway.offline.central import CentralSummary
from gateway.offline.conflicts import describe, is_change
from gateway.offline.errors import SegmentError
from gateway.offline.merge_lock import merging
from gateway.offline.parallel import checked_lines
from gateway.offline.registry import EnrolledKit, KitRegistry, MergedChain
from gateway.storage import Backend

__all__ = ["QueuedAction", "Replay", "SyncOutcome", "merge_segment", "sync_segment"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]")  # a name kept in the quarantine folder
Status = Literal["merged", "already merged", "refused"]


@dataclass(frozen=True)
class QueuedAction:
    """A request refused offline and queued; ``conflicts`` are the central records that
    changed the same resource after the kit was made, ``conflict_record`` the
    ``offline.conflict`` record written for them."""

    kit_id: str
    index: int  # in the segment
    actor: str
    action: str
    resource: str
    context: dict[str, Any]
    workflow: str | None
    parameters: dict[str, Any]
    conflicts: tuple[int, ...]
    conflict_record: int | None = None  # the offline.conflict record linking both sides


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
    segment: int | None = None  # its number among the kit's merges
    conflicts: tuple[dict[str, Any], ...] = field(default=())  # offline.conflict records

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "kit_id": self.kit_id,
            "segment": self.segment,
            "records": self.records,
            "head_hash": self.head_hash,
            "record": self.record,
            "reason": self.reason,
            "quarantined": self.quarantined,
            "conflicts": list(self.conflicts),
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
    kit = registry.kit_after(first.prev) or registry.kits.get(registry.by_key.get(first.key_id, ""))
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


def _verify(
    lines: Sequence[bytes], kit: EnrolledKit, chain: KitChain
) -> tuple[SegmentVerifier, list[AuditRecord]]:
    """Verify ``lines`` as the kit's next records (each line checked on its own on every
    core for a long segment, the chain in order here); return the verifier and the
    records that change a resource (queued actions included), for replay and conflicts."""
    device = _device(kit)
    verifier = SegmentVerifier(device, chain)
    changes = []
    for line, checked in zip(lines, checked_lines(lines, raw_public_key(device.key)), strict=True):
        try:
            verifier.add_checked(checked)
        except VerificationError as exc:
            raise SegmentError(exc.kind, str(exc).split(": ", 2)[-1], exc.sequence) from exc
        if isinstance(checked, LineCheck) and is_change(checked.type, checked.resource):
            changes.append(parse_record(line, checked.seq))
    return verifier, changes


def _new_lines(lines: Sequence[bytes], kit: EnrolledKit, merged: MergedChain) -> tuple[int, int]:
    """The chain index of the first of ``lines`` and how many leading ``lines`` the kit's
    merged chain already holds; raise ``SegmentError`` when the segment does not continue
    it: ``gap``, or ``fork`` (a repeated record differs from the merged one, though signed
    by the device key, or the first new record does not chain from the last merged one)."""
    count, device = len(merged.hashes), _device(kit)
    start = parse_record(lines[0], count).seq
    if start > count:
        raise SegmentError("gap", f"the kit's next record is seq {count}, found seq {start}", count)
    for offset, line in enumerate(lines[: count - start]):
        index = start + offset
        if hashlib.sha256(line).hexdigest() != merged.hashes[index]:
            record, signed = check_line(line, device.key, index)
            if record.seq != index:
                kind = "gap" if record.seq > index else "out of order"
                raise SegmentError(kind, f"expected seq {index}, found {record.seq}", index)
            if not signed:
                raise SegmentError("bad signature", f"device key {device.key_id}", index)
            central, number = merged.merge_of(index)
            raise SegmentError(
                "fork", f"record {index} differs from the one merged by record {central} "
                f"(segment {number} of kit {kit.kit_id})", index,
            )  # fmt: skip
    repeated = max(0, count - start)
    if repeated < len(lines) and start == count and count:
        head = merged.hashes[-1]
        first = parse_record(lines[0], count)
        if first.seq == count and first.prev != head:
            central, number = merged.merge_of(count - 1)
            raise SegmentError(
                "fork", f"record {count}'s prev {first.prev[:16]}... is not the hash of the "
                f"kit's last merged record {head[:16]}... (merged by record {central}, "
                f"segment {number})", count,
            )  # fmt: skip
    return start, repeated


def _quarantine(name: str, data: bytes, folder: Path, now: datetime, reason: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{name}.{stamp}"
    target.write_bytes(data)
    target.with_name(target.name + ".reason").write_text(reason + "\n", encoding="utf-8")
    return target


@dataclass(frozen=True)
class _Refusal:
    """Refusing a segment: recorded, kept aside, alerted."""

    name: str
    data: bytes
    audit: AuditStore
    notifier: Notifier | None
    quarantine: Path
    now: datetime
    actor: str

    def __call__(self, error: SegmentError, kit_id: str | None) -> SyncOutcome:
        reason = str(error)
        record = self.audit.append(
            AuditEvent(
                type=SEGMENT_REFUSED,
                actor=self.actor,
                payload={
                    "kit_id": kit_id,
                    "reason": reason,
                    "kind": error.kind,
                    "first_bad_record": error.record,
                    "sha256": hashlib.sha256(self.data).hexdigest(),
                    "file": self.name,
                },
            )
        )
        kept = _quarantine(self.name, self.data, self.quarantine, self.now, reason)
        if self.notifier is not None:
            self.notifier.send(
                Notification(
                    kind=NotificationKind.ALERT,
                    title="Offline segment refused",
                    text=f"{self.name}: {reason} (kept aside as {kept.name})",
                    fields={"kit": kit_id or "unknown", "record": str(record.seq)},
                )
            )
        return SyncOutcome(
            "refused", kit_id, 0, record=record.seq, reason=reason, quarantined=str(kept)
        )


def _queued(
    kit: EnrolledKit,
    records: Sequence[AuditRecord],
    conflicts: dict[int, tuple[int, tuple[int, ...]]],
) -> list[QueuedAction]:
    """The queued actions among ``records``; ``conflicts`` maps a kit chain index to the
    ``offline.conflict`` record written for it and the central changes it names."""
    actions = []
    for record in records:
        if record.type != ACTION_QUEUED or record.actor is None or record.resource is None:
            continue
        payload = record.payload
        found = conflicts.get(record.seq)
        actions.append(
            QueuedAction(
                kit_id=kit.kit_id,
                index=record.seq,
                actor=record.actor,
                action=str(record.action),
                resource=record.resource,
                context=dict(payload.get("context") or {}),
                workflow=payload.get("workflow"),
                parameters=dict(payload.get("parameters") or {}),
                conflicts=found[1] if found else (),
                conflict_record=found[0] if found else None,
            )
        )
    return actions


def sync_segment(
    segment: Path,
    *,
    audit: AuditStore,
    quarantine: Path,
    now: datetime,
    actor: str,
    notifier: Notifier | None = None,
    kit_id: str | None = None,
    replay: Replay | None = None,
    storage: Backend | None = None,
) -> SyncOutcome:
    """Verify and merge the segment file ``segment``; see ``merge_segment``."""
    try:
        data = segment.read_bytes()
    except OSError as exc:
        raise SegmentError("unreadable", f"{segment}: {exc.strerror}") from exc
    return merge_segment(
        data, segment.name, audit=audit, quarantine=quarantine, now=now, actor=actor,
        notifier=notifier, kit_id=kit_id, replay=replay, storage=storage,
    )  # fmt: skip


def merge_segment(
    data: bytes,
    name: str,
    *,
    audit: AuditStore,
    quarantine: Path,
    now: datetime,
    actor: str,
    notifier: Notifier | None = None,
    kit_id: str | None = None,
    replay: Replay | None = None,
    batch: int | None = None,
    storage: Backend | None = None,
) -> SyncOutcome:
    """Verify and merge a segment's bytes (``name`` names it in records and the
    quarantine) into ``audit``'s log, ``batch`` lines per ``offline.record`` (1 to
    ``MERGE_BATCH``, the default); see the module docstring.  ``storage`` is the backend
    of a central log in the shared database: the merge takes its turn there, across
    hosts (``gateway.offline.merge_lock``)."""
    name = _SAFE.sub("_", name)[:100] or "segment"
    lines = data.split(b"\n")
    if lines[-1] == b"":  # the newline ending the last record
        lines.pop()
    refuse = _Refusal(name, data, audit, notifier, quarantine, now, actor)
    with merging(audit, storage, quarantine), CentralSummary(audit, quarantine) as central:
        central.refresh()
        registry = central.registry()
        found: str | None = None
        try:
            kit = _identify(lines, registry, kit_id)
            found = kit.kit_id
            merged = registry.chain_of(kit)
            start, repeated = _new_lines(lines, kit, merged)
            if repeated == len(lines):
                last = len(merged.hashes) - 1 - (len(merged.hashes) - start - len(lines))
                central_seq, number = merged.merge_of(last)
                return SyncOutcome(
                    "already merged", kit.kit_id, len(lines), merged.hashes[last], central_seq,
                    segment=number,
                )  # fmt: skip
            verifier, changes = _verify(lines[repeated:], kit, merged.chain(kit.hash))
        except (SegmentError, VerificationError) as exc:
            error = exc if isinstance(exc, SegmentError) else SegmentError(exc.kind, str(exc), 0)
            return refuse(error, found)
        summary = verifier.summary()
        size = max(1, min(batch or MERGE_BATCH, MERGE_BATCH))  # what a verifier accepts
        new, first = lines[repeated:], summary["first"]
        events = [AuditEvent(type=SEGMENT_MERGED, actor=actor, payload=summary)]
        events += [
            AuditEvent(
                type=OFFLINE_RECORD,
                payload={
                    "kit_id": kit.kit_id,
                    "first": first + at,
                    "lines": SignedLines(line.decode("utf-8") for line in new[at : at + size]),
                },
            )
            for at in range(0, len(new), size)
        ]
        clashes = central.conflicts(changes, kit.seq, kit.kit_id)
        events += [c.event(kit.kit_id, summary["segment"], actor) for c in clashes]
        written = append_batch(audit, events)
    batches = written[1 : len(written) - len(clashes)]
    shown = tuple(
        describe(clash, record, batches[(clash.record.seq - first) // size].seq)
        for clash, record in zip(clashes, written[len(written) - len(clashes) :], strict=True)
    )
    linked = {
        c.record.seq: (int(r["record"]), tuple(x.seq for x in c.central))
        for c, r in zip(clashes, shown, strict=True)
    }
    queued = _queued(kit, changes, linked)
    replayed = tuple(replay(item) for item in queued) if replay else ()
    return SyncOutcome(
        "merged", kit.kit_id, len(new), summary["head_hash"], written[0].seq,
        replayed=replayed, segment=summary["segment"], conflicts=shown,
    )  # fmt: skip
