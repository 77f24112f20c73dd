"""Replaying queued actions after a merge: a fresh decision on current facts, then the
workflow through the runtime when the decision allows.

A fact that changed while the kit was offline wins (the fresh decision refuses and says
why); central changes to the same resource since the kit was made are reported as
conflicts.  Each replay is recorded as ``offline.replayed`` (segment index, decision,
conflicts and the ``offline.conflict`` record linking them, execution).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.audit.records import AuditEvent
from gateway.audit.segments import REPLAYED
from gateway.audit.sink import AuditSink, record_first
from gateway.enforcement import Authorizer
from gateway.offline.sync import QueuedAction, Replay
from gateway.policy.request import AccessRequest

__all__ = ["REPLAYED", "RunWorkflow", "make_replay"]

RunWorkflow = Callable[[QueuedAction], dict[str, Any]]


def make_replay(
    authorizer: Authorizer, audit: AuditSink | None, run_workflow: RunWorkflow | None = None
) -> Replay:
    def replay(item: QueuedAction) -> dict[str, Any]:
        context = {**item.context, "channel": "offline_sync"}
        request = AccessRequest(
            actor=item.actor, action=item.action, resource=item.resource, context=context
        )
        decision = authorizer.authorize(request)
        result: dict[str, Any] = {
            "kit_id": item.kit_id,
            "index": item.index,
            "actor": item.actor,
            "action": item.action,
            "resource": item.resource,
            "decision": str(decision.decision),
            "decision_id": decision.decision_id,
            "reasons": [r.message for r in decision.reasons if r.effect != "note"],
            "conflicts": list(item.conflicts),
        }
        if item.conflicts:
            seqs = ", ".join(str(seq) for seq in item.conflicts)
            result["conflict"] = f"{item.resource} changed centrally while offline ({seqs})"
        if item.conflict_record is not None:
            result["conflict_record"] = item.conflict_record
        if decision.allowed and item.workflow is not None and run_workflow is not None:
            result["execution"] = run_workflow(item)
        record_first(
            audit,
            AuditEvent(
                type=REPLAYED,
                actor=item.actor,
                action=item.action,
                resource=item.resource,
                decision_id=decision.decision_id,
                policy_digest=decision.policy_digest,
                payload={k: v for k, v in result.items() if k not in ("actor", "action")},
            ),
        )
        return result

    return replay
