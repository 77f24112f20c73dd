"""Ticket webhooks: ServiceNow business rules, Jira Service Management, generic JSON.

How each one authenticates:

- ``POST /v1/tickets/servicenow`` and ``POST /v1/tickets/generic``: a service's API key
  (``X-API-Key``) holding ``tickets:write``; a business rule's REST message sets the
  header.
- ``POST /v1/tickets/alertmanager``: an Alertmanager ``webhook_config`` notification, with
  a service's API key holding ``tickets:write`` (``Authorization: Bearer gwk_...`` from
  ``http_config.authorization``); see ``gateway.tickets.alertmanager``.
- ``POST /v1/tickets/jira``: no gateway credential (Jira cannot send one); the body must
  carry Jira's shared-secret signature, ``X-Hub-Signature: sha256=<hex>`` (HMAC-SHA256 of
  the raw body), checked against ``[tickets.jira] webhook_secret_env``.  Without that
  secret the route answers ``404`` and keeps nothing; deliveries pass a token bucket
  (``[tickets] unauthenticated_per_minute`` and ``unauthenticated_burst``) and are
  answered ``429`` with ``Retry-After`` over it, counted and not kept.

Answers: ``202`` with what the intake did (started, duplicate, in progress, conflict, left
for people); a delivery that cannot be used is dead-lettered (audited, replayable) and
answered ``422`` (``401`` for a bad signature) naming the reason and the dead letter; a
directory or help desk that cannot answer gives ``503`` with ``Retry-After`` so the sender
delivers again.  Write-backs are delivered after the answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends
from pydantic import BaseModel, ConfigDict, JsonValue
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from gateway.api.openapi import ERRORS_OF_BODIES, ERRORS_OF_CALLERS, problem_responses
from gateway.api.problems import ApiProblem
from gateway.api.security import Requires
from gateway.api.services import ApiServices, get_services
from gateway.api.ticket_bodies import request_body
from gateway.callers.caller import Caller
from gateway.callers.scopes import TICKETS_WRITE
from gateway.errors import IdentityError
from gateway.tickets.alertmanager import AlertIntake
from gateway.tickets.errors import (
    HelpDeskUnavailableError,
    IntakeRateLimitedError,
    SourceNotConfiguredError,
)
from gateway.tickets.service import IntakeResult, Outcome, TicketService

__all__ = ["AlertIntakeAnswer", "IntakeAnswer", "router"]
router = APIRouter(tags=["tickets"])
_Services = Annotated[ApiServices, Depends(get_services)]


class IntakeAnswer(BaseModel):
    """What the intake did with one delivery."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: str
    ticket: str | None
    message: str
    execution_id: str | None
    execution_state: str | None
    decision: dict[str, JsonValue] | None
    records: list[IntakeAnswer] = []  # a Table API page: what was done with each record

    @classmethod
    def of(cls, result: IntakeResult) -> IntakeAnswer:
        execution = result.execution
        decision: dict[str, Any] | None = None
        if result.decision is not None:
            decision = result.decision.as_json()
        return cls(
            outcome=str(result.outcome),
            ticket=result.ticket,
            message=result.message,
            execution_id=None if execution is None else execution.id,
            execution_state=None if execution is None else str(execution.state),
            decision=decision,
            records=[cls.of(record) for record in result.records],
        )


def _service(services: ApiServices) -> TicketService:
    service = services.tickets
    if service is None:
        raise ApiProblem(404, "tickets-disabled", "Ticket intake is off", "ticket intake is off")
    return service


async def _take(
    source: str, request: Request, services: ApiServices, background: BackgroundTasks
) -> IntakeAnswer:
    service = _service(services)
    body = await request.body()
    try:
        result = await run_in_threadpool(
            service.receive_delivery, source, body, dict(request.headers)
        )
    except SourceNotConfiguredError as exc:
        raise ApiProblem(404, "source-not-configured", "Source not configured", str(exc)) from exc
    except IntakeRateLimitedError as exc:
        raise ApiProblem(
            429,
            "intake-rate-limited",
            "Too many deliveries",
            str(exc),
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc
    except (HelpDeskUnavailableError, IdentityError) as exc:
        wait = getattr(exc, "retry_after", None) or 30
        raise ApiProblem(
            503,
            "intake-unavailable",
            "Try again later",
            f"the event was not taken: {exc}",
            headers={"Retry-After": str(int(wait))},
        ) from exc
    if result.outcome is Outcome.DEAD_LETTER:
        signed = source == "jira" and "X-Hub-Signature" in result.message
        raise ApiProblem(
            401 if signed else 422,
            "bad-signature" if signed else "event-refused",
            "Bad signature" if signed else "Event refused",
            f"{result.message}; kept as dead letter {result.dead_letter}",
        )
    background.add_task(service.flush_outbox)
    return IntakeAnswer.of(result)


_WITH_KEY = problem_responses(*ERRORS_OF_CALLERS, *ERRORS_OF_BODIES, 404)


@router.post(
    "/v1/tickets/servicenow",
    status_code=202,
    responses=_WITH_KEY,
    openapi_extra=request_body("ServiceNowEvent"),
)
async def servicenow_webhook(
    request: Request,
    caller: Annotated[Caller, Depends(Requires(TICKETS_WRITE))],
    services: _Services,
    background: BackgroundTasks,
) -> IntakeAnswer:
    """A ServiceNow business rule's event: ``{"table", "operation", "record": {...}}``, a
    bare record, or a Table API answer (``{"result": [...]}``: each record on its own)."""
    return await _take("servicenow", request, services, background)


@router.post(
    "/v1/tickets/generic",
    status_code=202,
    responses=_WITH_KEY,
    openapi_extra=request_body("GenericEvent"),
)
async def generic_webhook(
    request: Request,
    caller: Annotated[Caller, Depends(Requires(TICKETS_WRITE))],
    services: _Services,
    background: BackgroundTasks,
) -> IntakeAnswer:
    """A generic ticket event: ``{"event_id", "kind", "ticket": {...}}``."""
    return await _take("generic", request, services, background)


@router.post(
    "/v1/tickets/jira",
    status_code=202,
    responses=problem_responses(401, 404, 413, 422, 429, 503),
    openapi_extra=request_body("JiraWebhookEvent"),
)
async def jira_webhook(
    request: Request, services: _Services, background: BackgroundTasks
) -> IntakeAnswer:
    """A Jira webhook, signed with the shared secret (``X-Hub-Signature``)."""
    return await _take("jira", request, services, background)


class AlertIntakeAnswer(BaseModel):
    """What the intake did with one Alertmanager notification."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alerts: list[IntakeAnswer]  # each taken alert, in the order of the notification
    outcomes: dict[str, int]  # how many alerts had each outcome
    dropped: int  # alerts over the intake limit, kept as a dead letter
    truncated: int  # alerts Alertmanager itself left out (its max_alerts)
    dead_letter: int | None  # where the dropped alerts are kept


@router.post("/v1/tickets/alertmanager", status_code=202, responses=_WITH_KEY)
async def alertmanager_webhook(
    request: Request,
    caller: Annotated[Caller, Depends(Requires(TICKETS_WRITE))],
    services: _Services,
    background: BackgroundTasks,
) -> AlertIntakeAnswer:
    """An Alertmanager ``webhook_config`` notification (version 4); Alertmanager sends the
    API key with ``http_config.authorization`` (``Bearer``)."""
    service = _service(services)
    body = await request.body()
    try:
        report = await run_in_threadpool(AlertIntake(service).receive, body, dict(request.headers))
    except SourceNotConfiguredError as exc:
        raise ApiProblem(404, "source-not-configured", "Source not configured", str(exc)) from exc
    except (HelpDeskUnavailableError, IdentityError) as exc:
        raise ApiProblem(
            503,
            "intake-unavailable",
            "Try again later",
            f"the alerts were not all taken: {exc}",
            headers={"Retry-After": "30"},
        ) from exc
    if report.refused:
        raise ApiProblem(
            422,
            "event-refused",
            "Event refused",
            f"{report.refused}; kept as dead letter {report.dead_letter}",
        )
    background.add_task(service.flush_outbox)
    return AlertIntakeAnswer(
        alerts=[IntakeAnswer.of(result) for result in report.results],
        outcomes=report.outcomes,
        dropped=report.dropped,
        truncated=report.truncated,
        dead_letter=report.dead_letter,
    )
