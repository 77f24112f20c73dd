"""Durable approval state.

Tables (every ``*_at`` is UTC text ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, which sorts in time
order)::

    requests     id PK, state, body (JSON: access request, obligations, decision, target,
                 manager), digest, requester, created_at, expires_at, finished_at,
                 finished_by
    votes        request_id, obligation, approver (PK all three), verdict, at
    escalations  request_id, obligation (PK both), at
    auto_approvals  request_id PK, decision_id, policies (JSON list), at

The tables live on the configured storage backend (``gateway.storage``): a SQLite file
by default, or a schema of the shared PostgreSQL database.  Migration 2 adds
``auto_approvals``, so a store written before it existed gains it, empty, when opened.

Every operation runs in a transaction; write transactions of the store run one at a time
across threads, processes and hosts.  A vote is checked and counted inside one write
transaction, so two votes for the last slot of a quorum give exactly one ``approved``
transition.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.approvals.errors import ApprovalStoreError
from gateway.approvals.model import ApprovalRequest, ApprovalState, AutoApproval, Verdict, Vote
from gateway.erasure import ERASED_TEXT as ERASED
from gateway.policy.decision import ApprovalObligation
from gateway.policy.request import GATEWAY_CONTEXT, AccessRequest
from gateway.storage import Backend, Connection, Schema, SqliteBackend

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "ApprovalStore",
    "Transaction",
    "format_time",
    "parse_time",
]

_CACHED = 4096
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
SCHEMA = Schema(
    "approvals",
    (
        """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY, state TEXT NOT NULL, body TEXT NOT NULL, digest TEXT NOT NULL,
    requester TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    finished_at TEXT, finished_by TEXT);
CREATE INDEX IF NOT EXISTS requests_by_state ON requests (state, expires_at);
CREATE TABLE IF NOT EXISTS votes (
    request_id TEXT NOT NULL, obligation INTEGER NOT NULL, approver TEXT NOT NULL,
    verdict TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (request_id, obligation, approver));
CREATE TABLE IF NOT EXISTS escalations (
    request_id TEXT NOT NULL, obligation INTEGER NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (request_id, obligation));
""",
        """
CREATE TABLE IF NOT EXISTS auto_approvals (
    request_id TEXT PRIMARY KEY, decision_id TEXT NOT NULL, policies TEXT NOT NULL,
    at TEXT NOT NULL);
""",
    ),
)
SCHEMA_VERSION = SCHEMA.version
_COLUMNS = "id, state, body, digest, requester, created_at, expires_at, finished_at, finished_by"


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise TypeError("approval times must be timezone-aware")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)  # the stored form ends in Z: always UTC


def _optional_time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


@dataclass(frozen=True, slots=True)
class _Body:
    """The part of a request that never changes (but on erasure), parsed once per process."""

    request: AccessRequest
    decision_id: str
    policy_digest: str
    obligations: tuple[ApprovalObligation, ...]
    target: str | None
    manager: str | None

    @classmethod
    def parse(cls, text: str) -> _Body:
        body = json.loads(text)
        return cls(
            request=AccessRequest.model_validate(body["request"]),
            decision_id=body["decision_id"],
            policy_digest=body["policy_digest"],
            obligations=tuple(ApprovalObligation.model_validate(o) for o in body["obligations"]),
            target=body["target"],
            manager=body["manager"],
        )


_Cache = dict[str, tuple[str, _Body]]


class Transaction:
    """The operations of one transaction; only valid inside ``ApprovalStore.transaction``."""

    def __init__(self, connection: Connection, bodies: _Cache) -> None:
        self._db = connection
        self._bodies = bodies

    def insert(self, item: ApprovalRequest) -> None:
        body = {
            "request": item.request.model_dump(mode="json"),
            "decision_id": item.decision_id,
            "policy_digest": item.policy_digest,
            "obligations": [o.model_dump(mode="json") for o in item.obligations],
            "target": item.target,
            "manager": item.manager,
        }
        self._db.execute(
            f"INSERT INTO requests ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",  # noqa: S608
            (
                item.id,
                str(item.state),
                json.dumps(body, sort_keys=True, separators=(",", ":")),
                item.digest,
                item.requester,
                format_time(item.created_at),
                format_time(item.expires_at),
            ),
        )

    def load(self, request_id: str) -> ApprovalRequest | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE id = ?",  # noqa: S608
            (request_id,),
        ).fetchone()
        return None if row is None else self._build(row)

    def _build(self, row: Any) -> ApprovalRequest:
        ident, state, body_text, digest, requester, created, expires, finished, by = row
        cached = self._bodies.get(ident)
        if cached is None or cached[0] != body_text:  # new, or erased since it was read
            if len(self._bodies) >= _CACHED:
                self._bodies.clear()
            cached = self._bodies[ident] = (body_text, _Body.parse(body_text))
        body = cached[1]
        votes = tuple(
            Vote(obligation, approver, Verdict(verdict), parse_time(at))
            for obligation, approver, verdict, at in self._db.execute(
                "SELECT obligation, approver, verdict, at FROM votes "
                "WHERE request_id = ? ORDER BY at, obligation, approver",
                (ident,),
            )
        )
        escalated = frozenset(
            index
            for (index,) in self._db.execute(
                "SELECT obligation FROM escalations WHERE request_id = ?", (ident,)
            )
        )
        auto = self._db.execute(
            "SELECT decision_id, policies, at FROM auto_approvals WHERE request_id = ?", (ident,)
        ).fetchone()
        return ApprovalRequest(
            id=ident,
            request=body.request,
            decision_id=body.decision_id,
            policy_digest=body.policy_digest,
            obligations=body.obligations,
            digest=digest,
            requester=requester,
            target=body.target,
            manager=body.manager,
            created_at=parse_time(created),
            expires_at=parse_time(expires),
            state=ApprovalState(state),
            votes=votes,
            escalated=escalated,
            finished_at=_optional_time(finished),
            finished_by=by,
            auto=None
            if auto is None
            else AutoApproval(auto[0], tuple(json.loads(auto[1])), parse_time(auto[2])),
        )

    def pending(self) -> list[ApprovalRequest]:
        """Every pending request, oldest first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE state = ? ORDER BY created_at, id",  # noqa: S608
            (str(ApprovalState.PENDING),),
        ).fetchall()
        return [self._build(row) for row in rows]

    def about(self, login: str) -> list[ApprovalRequest]:
        """Every request ``login`` made, is the actor of, or is the target of, oldest first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE requester = ? "  # noqa: S608
            "OR body LIKE ? OR body LIKE ? ORDER BY created_at, id",
            (login, f'%"actor":{json.dumps(login)}%', f'%"target":{json.dumps(login)}%'),
        ).fetchall()
        found = [self._build(row) for row in rows]
        return [
            item for item in found if login in (item.requester, item.request.actor, item.target)
        ]

    def erase_about(self, login: str, *, dry_run: bool = False) -> int:
        """Replace the free text of finished requests by or about ``login`` (every value of
        the request's context but what the gateway itself adds, such as a justification)
        with ``(erased)``; ids, states, votes and logins stay.  Pending requests keep their
        context until they finish.  The number of requests changed (or that would be)."""
        changed = 0
        for item in self.about(login):
            context = item.request.context
            erased = {k: v if k in GATEWAY_CONTEXT else ERASED for k, v in context.items()}
            if item.state is ApprovalState.PENDING or erased == context:
                continue
            changed += 1
            if dry_run:
                continue
            (body_text,) = self._db.execute(
                "SELECT body FROM requests WHERE id = ?", (item.id,)
            ).fetchone()
            body = json.loads(body_text)
            body["request"]["context"] = erased
            self._db.execute(
                "UPDATE requests SET body = ? WHERE id = ?",
                (json.dumps(body, sort_keys=True, separators=(",", ":")), item.id),
            )
        return changed

    def add_vote(self, request_id: str, vote: Vote) -> None:
        self._db.execute(
            "INSERT INTO votes (request_id, obligation, approver, verdict, at) "
            "VALUES (?, ?, ?, ?, ?)",
            (request_id, vote.obligation, vote.approver, str(vote.verdict), format_time(vote.at)),
        )

    def finish(self, request_id: str, state: ApprovalState, at: datetime, by: str | None) -> None:
        """Move a pending request to ``state``."""
        self._db.execute(
            "UPDATE requests SET state = ?, finished_at = ?, finished_by = ? "
            "WHERE id = ? AND state = ?",
            (str(state), format_time(at), by, request_id, str(ApprovalState.PENDING)),
        )

    def add_auto_approval(self, request_id: str, auto: AutoApproval) -> None:
        self._db.execute(
            "INSERT INTO auto_approvals (request_id, decision_id, policies, at) "
            "VALUES (?, ?, ?, ?)",
            (request_id, auto.decision_id, json.dumps(list(auto.policies)), format_time(auto.at)),
        )

    def mark_escalated(self, request_id: str, obligation: int, at: datetime) -> None:
        self._db.execute(
            "INSERT INTO escalations (request_id, obligation, at) VALUES (?, ?, ?)",
            (request_id, obligation, format_time(at)),
        )


class ApprovalStore:
    """The approval tables on a storage backend (a SQLite file at ``path`` unless another
    backend is given); safe to share between threads."""

    def __init__(self, path: Path, *, backend: Backend | None = None) -> None:
        self.path = path
        self._bodies: _Cache = {}  # parsed bodies (and their text) by id, at most _CACHED
        self._database = (backend or SqliteBackend()).open(
            SCHEMA, path, what="approval store", error=ApprovalStoreError
        )

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Transaction]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._database.transaction(write=write) as db:
            yield Transaction(db, self._bodies)

    def close(self) -> None:
        self._database.close()
