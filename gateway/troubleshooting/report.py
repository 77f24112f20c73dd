"""Results per tree: sessions, outcomes, average steps, resolution paths, dead ends.

A dead end is where sessions stop without a fix: an escalation outcome (``escalated``),
or a node where unfinished sessions have not moved for ``stale_after`` (``abandoned``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.troubleshooting.session import SessionStatus
from gateway.troubleshooting.store import SessionStore

__all__ = ["DeadEnd", "TreeReport", "build_report"]


@dataclass(frozen=True, slots=True)
class DeadEnd:
    node: str
    kind: str  # escalated or abandoned
    sessions: int


@dataclass(frozen=True, slots=True)
class TreeReport:
    tree: str
    sessions: int
    by_status: dict[str, int]
    outcomes: dict[str, int]
    average_steps: float | None  # of finished sessions
    resolution_paths: list[tuple[tuple[str, ...], int]]
    dead_ends: list[DeadEnd]

    def as_json(self) -> dict[str, Any]:
        return {
            "tree": self.tree,
            "sessions": self.sessions,
            "by_status": self.by_status,
            "outcomes": self.outcomes,
            "average_steps": self.average_steps,
            "resolution_paths": [
                {"path": list(path), "sessions": count} for path, count in self.resolution_paths
            ],
            "dead_ends": [
                {"node": end.node, "kind": end.kind, "sessions": end.sessions}
                for end in self.dead_ends
            ],
        }


def build_report(
    store: SessionStore,
    tree: str,
    *,
    now: datetime,
    stale_after: timedelta = timedelta(hours=24),
    top: int = 5,
) -> TreeReport:
    rows = store.rows(tree)
    statuses = Counter(str(row.status) for row in rows)
    finished = [row for row in rows if row.status.finished]
    outcomes = Counter(row.outcome_node for row in finished if row.outcome_node is not None)
    resolved = Counter(row.path for row in finished if row.status is SessionStatus.RESOLVED)
    escalated = Counter(
        row.outcome_node
        for row in finished
        if row.status is SessionStatus.ESCALATED and row.outcome_node is not None
    )
    abandoned = Counter(
        row.current
        for row in rows
        if not row.status.finished and now - row.updated_at > stale_after
    )
    dead_ends = [DeadEnd(node, "escalated", count) for node, count in escalated.items()]
    dead_ends += [DeadEnd(node, "abandoned", count) for node, count in abandoned.items()]
    dead_ends.sort(key=lambda end: (-end.sessions, end.kind, end.node))
    average = round(sum(row.steps for row in finished) / len(finished), 2) if finished else None
    return TreeReport(
        tree=tree,
        sessions=len(rows),
        by_status=dict(sorted(statuses.items())),
        outcomes=dict(outcomes.most_common()),
        average_steps=average,
        resolution_paths=sorted(resolved.items(), key=lambda item: (-item[1], item[0]))[:top],
        dead_ends=dead_ends,
    )
