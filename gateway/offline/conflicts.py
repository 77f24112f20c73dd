"""Conflicts: the same resource changed on site (in a merged segment) and centrally after
the kit was made.

A change is a record naming a ``resource`` that is neither a decision nor offline
bookkeeping; on site, a queued action (``offline.action_queued``) is one too.  The kit's
own queued actions replayed after an earlier merge are not central changes for its later
segments: the records of an execution that an ``offline.replayed`` record of the same kit
names (``payload.execution.id``) are left out.  Each
segment record in conflict gets one ``offline.conflict`` record, written at merge in the
same group as the segment's lines, that links both sides:

- ``resource`` (the record member) and ``action``: the segment record's;
- ``payload.segment_record``: ``kit_id``, ``segment`` (the merge's number), ``index`` (chain
  index), ``hash`` (SHA-256 of its line), ``type`` and ``time``;
- ``payload.central_records``: ``seq``, ``hash``, ``type`` and ``time`` of each central
  change (the first ``MAX_CENTRAL``; ``payload.more`` counts the rest).

Logins stay in the records' ``actor`` and ``resource`` members, never in the payload.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.audit.canonical import canonical_bytes
from gateway.audit.records import AuditEvent, AuditRecord, parse_record
from gateway.audit.segments import ACTION_QUEUED, REPLAYED

__all__ = [
    "CONFLICT",
    "MAX_CENTRAL",
    "Conflict",
    "central_changes",
    "describe",
    "is_change",
    "own_executions",
]

CONFLICT = "offline.conflict"
MAX_CENTRAL = 100


def is_change(kind: str, resource: str | None) -> bool:
    """Whether a record of type ``kind`` naming ``resource`` changes it."""
    return resource is not None and (
        kind == ACTION_QUEUED or (kind != "decision" and not kind.startswith("offline."))
    )


def _is_change(record: AuditRecord) -> bool:
    return is_change(record.type, record.resource)


@dataclass(frozen=True)
class Conflict:
    """A segment record and the central changes to the same resource."""

    record: AuditRecord
    central: tuple[AuditRecord, ...]

    @property
    def resource(self) -> str:
        return str(self.record.resource)

    def event(self, kit_id: str, segment: int, actor: str) -> AuditEvent:
        """The ``offline.conflict`` record that links both sides."""
        shown = self.central[:MAX_CENTRAL]
        return AuditEvent(
            type=CONFLICT,
            actor=actor,
            action=self.record.action,
            resource=self.record.resource,
            payload={
                "kit_id": kit_id,
                "segment_record": {
                    "kit_id": kit_id,
                    "segment": segment,
                    "index": self.record.seq,
                    "hash": self.record.hash,
                    "type": self.record.type,
                    "time": self.record.time,
                },
                "central_records": [
                    {"seq": c.seq, "hash": c.hash, "type": c.type, "time": c.time} for c in shown
                ],
                "more": len(self.central) - len(shown),
            },
        )


_REPLAYED_MARK = f'"type":"{REPLAYED}"'.encode()


def own_executions(central: Sequence[bytes], since: int, kit_id: str) -> frozenset[str]:
    """The executions that replayed kit ``kit_id``'s queued actions after record ``since``."""
    found = set()
    for seq in range(since + 1, len(central)):
        if _REPLAYED_MARK in central[seq]:
            record = parse_record(central[seq], seq)
            execution = record.payload.get("execution")
            if record.payload.get("kit_id") == kit_id and isinstance(execution, dict):
                found.add(str(execution.get("id")))
    return frozenset(found)


def _changes_to(
    central: Sequence[bytes], since: int, resources: Iterable[str], own: frozenset[str]
) -> dict[str, list[AuditRecord]]:
    """Central changes after record ``since`` to each of ``resources``, but for the records
    of the executions ``own`` (the kit's replays), in one pass over ``central``: one search
    per line for a ``"resource":"...","seq":`` member naming any of them (the top-level
    member: keys are sorted, ``seq`` follows ``resource``); only those lines are parsed and
    checked."""
    wanted = {canonical_bytes(resource)[1:-1]: resource for resource in resources}
    found: dict[str, list[AuditRecord]] = {resource: [] for resource in wanted.values()}
    names = b"|".join(re.escape(spelled) for spelled in wanted)
    search = re.compile(b'"resource":"(' + names + b')","seq":').search
    for seq in range(since + 1, len(central)):
        match = search(central[seq])
        if match is None:
            continue
        resource = wanted[match.group(1)]
        record = parse_record(central[seq], seq)
        if (
            record.resource == resource
            and _is_change(record)
            and record.payload.get("execution") not in own
        ):
            found[resource].append(record)
    return found


def central_changes(
    central: Sequence[bytes], since: int, resource: str, own: frozenset[str] = frozenset()
) -> list[AuditRecord]:
    """Central changes to ``resource`` after record ``since``, but for the records of the
    executions ``own`` (the kit's replays)."""
    return _changes_to(central, since, (resource,), own)[resource]


def describe(conflict: Conflict, written: AuditRecord, merged_by: int) -> dict[str, Any]:
    """What ``gateway offline sync --json`` shows of a conflict written as ``written``."""
    payload = written.payload
    return {
        "record": written.seq,
        "hash": written.hash,
        "resource": conflict.resource,
        "segment_record": {**payload["segment_record"], "merged_by": merged_by},
        "central_records": payload["central_records"],
        "more": payload["more"],
    }
