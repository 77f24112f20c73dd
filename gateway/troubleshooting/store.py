"""Sessions, written after every step, on the configured storage backend
(``gateway.storage``: one SQLite file in WAL mode, or a schema of the shared PostgreSQL
database).

On SQLite, commits are not synced to the disk one by one unless ``durable`` is set: a
session survives a crash or restart of the gateway exactly as it was; a power cut may take
back its last steps.  Start and outcome are in the audit log either way.

``sessions`` holds each session's state as JSON next to the columns reports query;
``trees`` keeps each tree version a session started with (by digest), so a session whose
tree file changed later goes on with exactly the tree it began on; ``edges`` holds the
branches finished sessions took, for success rates and resolution paths.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.erasure import ERASED_TEXT as ERASED
from gateway.storage import Backend, Schema, SqliteBackend
from gateway.storage.sqlite import SqliteDatabase
from gateway.troubleshooting.errors import SessionStoreError, UnknownSessionError
from gateway.troubleshooting.session import Session, SessionStatus, Step, StepKind

__all__ = ["SCHEMA", "SessionRow", "SessionStore"]

_TABLES = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    tree TEXT NOT NULL,
    tree_version INTEGER NOT NULL,
    tree_digest TEXT NOT NULL,
    technician TEXT NOT NULL,
    ticket TEXT,
    status TEXT NOT NULL,
    current TEXT NOT NULL,
    steps INTEGER NOT NULL,
    path TEXT NOT NULL,
    outcome_node TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_tree ON sessions (tree, status);
CREATE TABLE IF NOT EXISTS trees (digest TEXT PRIMARY KEY, snapshot TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS edges (
    session TEXT NOT NULL,
    tree TEXT NOT NULL,
    node TEXT NOT NULL,
    goto TEXT NOT NULL,
    resolved INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS edges_node ON edges (tree, node);
CREATE INDEX IF NOT EXISTS edges_session ON edges (session);
"""
SCHEMA = Schema("troubleshooting", (_TABLES,))


@dataclass(frozen=True, slots=True)
class SessionRow:
    """What a report needs of one session."""

    tree: str
    status: SessionStatus
    current: str
    steps: int
    path: tuple[str, ...]
    outcome_node: str | None
    updated_at: datetime


def _encode(session: Session) -> str:
    return json.dumps(
        {
            "facts": session.facts,
            "execution": session.execution,
            "outcome": session.outcome,
            "steps": [step.as_json() for step in session.steps],
        },
        sort_keys=True,
    )


def _step(data: dict[str, Any]) -> Step:
    return Step(
        node=data["node"],
        kind=StepKind(data["kind"]),
        goto=data["goto"],
        edge=data["edge"],
        at=datetime.fromisoformat(data["at"]),
        value=data["value"],
        facts_before=data["facts_before"],
    )


def _session(row: Any) -> Session:
    state = json.loads(row["state"])
    return Session(
        id=row["id"],
        tree=row["tree"],
        tree_version=row["tree_version"],
        tree_digest=row["tree_digest"],
        technician=row["technician"],
        ticket=row["ticket"],
        status=SessionStatus(row["status"]),
        current=row["current"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        facts=state["facts"],
        steps=tuple(_step(item) for item in state["steps"]),
        execution=state["execution"],
        outcome=state["outcome"],
    )


class SessionStore:
    """Sessions, tree snapshots and the branches finished sessions took."""

    def __init__(
        self, path: Path, *, durable: bool = False, backend: Backend | None = None
    ) -> None:
        self._db = (backend or SqliteBackend()).open(
            SCHEMA, path, what="session store", error=SessionStoreError
        )
        if not durable and isinstance(self._db, SqliteDatabase):
            # WAL without a sync per commit: a process crash or restart loses nothing; a
            # power cut may lose the last steps, which the technician answers again.
            self._db.connection.execute("PRAGMA synchronous = NORMAL")
        self.path = path

    def save(
        self,
        session: Session,
        *,
        snapshot: str | None = None,
        before: Callable[[], object] | None = None,
    ) -> None:
        """Write the session (and its tree's snapshot, once per digest) in one
        transaction; ``before`` runs first inside it (an audit append), and if it raises
        nothing is written."""
        path = " ".join(session.path)
        outcome_node = session.outcome["node"] if session.outcome else None
        with self._db.transaction() as db:
            if before is not None:
                before()
            if snapshot is not None:
                db.execute(
                    "INSERT INTO trees (digest, snapshot) VALUES (?, ?) "
                    "ON CONFLICT (digest) DO NOTHING",
                    (session.tree_digest, snapshot),
                )
            db.execute(
                "INSERT INTO sessions (id, tree, tree_version, tree_digest, technician, "
                "ticket, status, current, steps, path, outcome_node, created_at, updated_at, "
                "state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET tree = excluded.tree, "
                "tree_version = excluded.tree_version, tree_digest = excluded.tree_digest, "
                "technician = excluded.technician, ticket = excluded.ticket, "
                "status = excluded.status, current = excluded.current, "
                "steps = excluded.steps, path = excluded.path, "
                "outcome_node = excluded.outcome_node, created_at = excluded.created_at, "
                "updated_at = excluded.updated_at, state = excluded.state",
                (
                    session.id,
                    session.tree,
                    session.tree_version,
                    session.tree_digest,
                    session.technician,
                    session.ticket,
                    str(session.status),
                    session.current,
                    len(session.steps),
                    path,
                    outcome_node,
                    session.created_at.isoformat(),
                    session.updated_at.isoformat(),
                    _encode(session),
                ),
            )
            db.execute("DELETE FROM edges WHERE session = ?", (session.id,))
            if session.status.finished:
                resolved = int(session.status is SessionStatus.RESOLVED)
                db.executemany(
                    "INSERT INTO edges (session, tree, node, goto, resolved) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        (session.id, session.tree, step.node, step.goto, resolved)
                        for step in session.steps
                        if step.goto is not None
                    ],
                )

    def load(self, session_id: str) -> Session:
        with self._db.transaction(write=False) as db:
            row = db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise UnknownSessionError(session_id)
        return _session(row)

    def snapshot(self, digest: str) -> str | None:
        """The tree a session started with, as JSON."""
        with self._db.transaction(write=False) as db:
            row = db.execute("SELECT snapshot FROM trees WHERE digest = ?", (digest,)).fetchone()
        return None if row is None else str(row["snapshot"])

    def recent(self, *, tree: str | None = None, limit: int = 50) -> list[Session]:
        """The latest sessions, newest first."""
        query = "SELECT * FROM sessions"
        args: tuple[object, ...] = ()
        if tree is not None:
            query += " WHERE tree = ?"
            args = (tree,)
        with self._db.transaction(write=False) as db:
            rows = db.execute(query + " ORDER BY updated_at DESC LIMIT ?", (*args, limit))
            return [_session(row) for row in rows.fetchall()]

    def rows(self, tree: str) -> list[SessionRow]:
        """Every session of a tree, as reports read them."""
        with self._db.transaction(write=False) as db:
            found = db.execute(
                "SELECT tree, status, current, steps, path, outcome_node, updated_at "
                "FROM sessions WHERE tree = ?",
                (tree,),
            ).fetchall()
        return [
            SessionRow(
                tree=row["tree"],
                status=SessionStatus(row["status"]),
                current=row["current"],
                steps=row["steps"],
                path=tuple(row["path"].split()),
                outcome_node=row["outcome_node"],
                updated_at=datetime.fromisoformat(row["updated_at"]),
            )
            for row in found
        ]

    def trees(self) -> list[str]:
        """The trees that have sessions."""
        with self._db.transaction(write=False) as db:
            rows = db.execute("SELECT DISTINCT tree FROM sessions ORDER BY tree").fetchall()
        return [str(row["tree"]) for row in rows]

    def success_rates(self, tree: str, node: str) -> dict[str, float]:
        """For each branch target of ``node``: the share of finished sessions that took
        it and were resolved."""
        with self._db.transaction(write=False) as db:
            rows = db.execute(
                "SELECT goto, COUNT(*) AS taken, SUM(resolved) AS resolved FROM edges "
                "WHERE tree = ? AND node = ? GROUP BY goto",
                (tree, node),
            ).fetchall()
        return {str(row["goto"]): float(row["resolved"]) / row["taken"] for row in rows}

    def erase_user(self, login: str, *, dry_run: bool = False) -> int:
        """Replace what finished sessions about ``login`` (the ``user`` fact) hold about
        them with ``(erased)``: the facts and answers (but the login, kept as the
        pseudonymous identifier), check results and the outcome's summary; paths, branches
        and statuses stay, so reports still add up.  Unfinished sessions keep their facts
        until they finish.  The number of sessions changed (or that would be)."""
        finished = [str(status) for status in SessionStatus if status.finished]
        marks = ", ".join("?" for _ in finished)
        query = (
            "SELECT id, state FROM sessions "  # noqa: S608 - only ?s
            f"WHERE state LIKE ? AND status IN ({marks}) ORDER BY id"
        )
        changed = 0
        with self._db.transaction(write=not dry_run) as db:
            rows = db.execute(query, (f'%"user": {json.dumps(login)}%', *finished)).fetchall()
            for row in rows:
                state = json.loads(row["state"])
                if state["facts"].get("user") != login:
                    continue
                erased = json.dumps(_erased_state(state, login), sort_keys=True)
                if erased == row["state"]:
                    continue
                changed += 1
                if not dry_run:
                    db.execute("UPDATE sessions SET state = ? WHERE id = ?", (erased, row["id"]))
        return changed

    def close(self) -> None:
        self._db.close()


_ERASED_STEPS = frozenset({StepKind.ANSWERED, StepKind.SKIPPED, StepKind.CHECKED})


def _erased(value: Any, login: str) -> Any:
    return value if value is None or value == login else ERASED


def _erased_facts(facts: dict[str, Any] | None, login: str) -> dict[str, Any] | None:
    return None if facts is None else {key: _erased(item, login) for key, item in facts.items()}


def _erased_state(state: dict[str, Any], login: str) -> dict[str, Any]:
    steps = [
        {
            **step,
            "value": _erased(step["value"], login),
            "facts_before": _erased_facts(step["facts_before"], login),
        }
        if step["kind"] in _ERASED_STEPS
        else step
        for step in state["steps"]
    ]
    outcome = state["outcome"]
    if outcome is not None and outcome.get("summary"):
        outcome = {**outcome, "summary": ERASED}
    return {
        **state,
        "facts": _erased_facts(state["facts"], login),
        "steps": steps,
        "outcome": outcome,
    }
