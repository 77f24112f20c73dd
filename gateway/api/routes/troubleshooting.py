"""Guided troubleshooting over HTTP: trees, sessions (start, answer, undo, resume) and
per-tree reports.

Callers need ``troubleshooting:write``.  The technician of a session is the caller who
started it (a person's id, or ``api-key:<name>`` for a service such as a chat front end);
the actions a tree starts go through the guarded runtime as that technician, so policies
decide them like any other request.  A session belongs to its technician: anyone else
needs an allow of ``troubleshooting.session.drive`` (supervisors), and a caller refused
gets the same 404 as for a session that does not exist.  Reports need an allow of
``troubleshooting.report.read`` on ``troubleshooting_tree:<id>``.  Sessions survive
restarts: a client that lost its connection reads the session again and goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.api.openapi import ERRORS_OF_BODIES, ERRORS_OF_CALLERS, problem_responses
from gateway.api.problems import ApiProblem, problem_for
from gateway.api.security import Requires
from gateway.api.services import ApiServices, get_services
from gateway.callers.caller import Caller
from gateway.callers.scopes import TROUBLESHOOTING_WRITE
from gateway.enforcement import PolicyDeniedError, require_allowed
from gateway.storage.errors import unavailable_cause
from gateway.troubleshooting.engine import TroubleshootingEngine
from gateway.troubleshooting.errors import (
    AnswerError,
    FactError,
    SessionStateError,
    SessionStoreError,
    TroubleshootingError,
    UnknownSessionError,
    UnknownTreeError,
)
from gateway.troubleshooting.report import build_report
from gateway.troubleshooting.views import SessionView

__all__ = [
    "AnswerBody",
    "StartBody",
    "requires_troubleshooting",
    "router",
]

router = APIRouter(tags=["troubleshooting"])
requires_troubleshooting = Requires(TROUBLESHOOTING_WRITE)

T = TypeVar("T")


class StartBody(BaseModel):
    """The tree, the ticket it serves, and facts the ticket already holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tree: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    ticket: str | None = Field(default=None, max_length=128)
    facts: dict[str, bool | int | float | str] = Field(default_factory=dict)


class AnswerBody(BaseModel):
    """The answer to the question the session waits on (a bool, number, choice or text)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: bool | int | float | str


_PROBLEMS: tuple[tuple[type[TroubleshootingError], int, str, str], ...] = (
    (UnknownTreeError, 404, "tree-not-found", "No such tree"),
    (UnknownSessionError, 404, "session-not-found", "No such session"),
    (AnswerError, 422, "invalid-answer", "Invalid answer"),
    (FactError, 422, "invalid-fact", "Invalid fact"),
    (SessionStateError, 409, "session-state", "Session cannot do that now"),
    (SessionStoreError, 503, "sessions-unavailable", "Sessions unavailable"),
    (TroubleshootingError, 409, "troubleshooting-refused", "Troubleshooting step refused"),
)


def _guarded(call: Callable[[], T]) -> T:
    """Run ``call``; a troubleshooting error becomes its problem."""
    try:
        return call()
    except TroubleshootingError as exc:
        if unavailable_cause(exc) is not None:  # the database is down: storage-unavailable
            raise problem_for(exc) from exc
        status, name, title = next(
            (s, n, t) for kind, s, n, t in _PROBLEMS if isinstance(exc, kind)
        )
        raise ApiProblem(status, name, title, str(exc)) from exc


def _session(session_id: str, call: Callable[[], SessionView]) -> Json:
    """Run ``call`` on a session; a caller the policy refuses learns no more than for a
    session that does not exist (the refusal is in the audit log)."""
    try:
        return _json(_guarded(call).as_json())
    except PolicyDeniedError as exc:
        unknown = UnknownSessionError(session_id)
        raise ApiProblem(404, "session-not-found", "No such session", str(unknown)) from exc


def _engine(services: ApiServices) -> TroubleshootingEngine:
    engine = services.troubleshooting
    if engine is None:
        raise ApiProblem(
            503,
            "troubleshooting-unavailable",
            "Troubleshooting unavailable",
            "guided troubleshooting is not set up in this server",
        )
    return engine


_Services = Annotated[ApiServices, Depends(get_services)]
_Caller = Annotated[Caller, Depends(requires_troubleshooting)]
_SessionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
_READ = problem_responses(*ERRORS_OF_CALLERS, 404, 503)
_WRITE = problem_responses(*ERRORS_OF_CALLERS, *ERRORS_OF_BODIES, 404, 409, 503)
Json = dict[str, JsonValue]


@router.get("/v1/troubleshooting/trees", responses=_READ)
def list_trees(caller: _Caller, services: _Services) -> list[Json]:
    """The trees sessions can start on."""
    return [
        {"id": tree.id, "title": tree.definition.title, "version": tree.version,
         "digest": tree.digest, "nodes": len(tree.definition.nodes)}
        for tree in _engine(services).trees
    ]  # fmt: skip


@router.post("/v1/troubleshooting/sessions", status_code=201, responses=_WRITE)
def start(body: StartBody, caller: _Caller, services: _Services) -> Json:
    """Start a session; it runs until it needs an answer, waits for a workflow, or ends."""
    engine = _engine(services)
    view = _guarded(
        lambda: engine.start(
            body.tree, technician=caller.label, ticket=body.ticket, facts=body.facts
        )
    )
    return _json(view.as_json())


@router.get("/v1/troubleshooting/sessions/{session_id}", responses=_READ)
def show(session_id: _SessionId, caller: _Caller, services: _Services) -> Json:
    """A session as stored, with the question it waits on."""
    engine = _engine(services)
    return _session(session_id, lambda: engine.show(session_id, by=caller.label))


@router.post("/v1/troubleshooting/sessions/{session_id}/answer", responses=_WRITE)
def answer(session_id: _SessionId, body: AnswerBody, caller: _Caller, services: _Services) -> Json:
    """Answer the current question; 422 for an answer that does not fit it."""
    engine = _engine(services)
    return _session(session_id, lambda: engine.answer(session_id, body.value, by=caller.label))


@router.post("/v1/troubleshooting/sessions/{session_id}/undo", responses=_WRITE)
def undo(session_id: _SessionId, caller: _Caller, services: _Services) -> Json:
    """Take back the last answer."""
    engine = _engine(services)
    return _session(session_id, lambda: engine.undo(session_id, by=caller.label))


@router.post("/v1/troubleshooting/sessions/{session_id}/resume", responses=_WRITE)
def resume(session_id: _SessionId, caller: _Caller, services: _Services) -> Json:
    """Go on where the session stopped (its workflow may have finished)."""
    engine = _engine(services)
    return _session(session_id, lambda: engine.resume(session_id, by=caller.label))


@router.get("/v1/troubleshooting/reports/{tree_id}", responses=_READ)
def report(
    tree_id: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,63}$")],
    caller: _Caller,
    services: _Services,
    stale_hours: Annotated[float, Query(ge=0, le=8760)] = 24.0,
) -> Json:
    """Sessions, outcomes, average steps, resolution paths and dead ends of a tree; 403
    unless policy allows ``troubleshooting.report.read`` on it."""
    engine = _engine(services)
    require_allowed(
        services.gateway,
        actor=caller.label,
        action="troubleshooting.report.read",
        resource=f"troubleshooting_tree:{tree_id}",
    )
    now = datetime.now(UTC)
    found = build_report(engine.store, tree_id, now=now, stale_after=timedelta(hours=stale_hours))
    return _json(found.as_json())


def _json(data: dict[str, Any]) -> Json:
    return data
