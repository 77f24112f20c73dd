"""The self-service catalog over HTTP: browse, search, dry-run, run, follow, cancel, usage.

A person (bearer token with ``catalog:run``) browses and runs items as themselves; a
service (API key with ``catalog:run``) names the person it acts for, and every guardrail
and decision is that person's.  ``Idempotency-Key`` makes a retried run give the same run.
A person sees and cancels their own runs only.  Usage (``catalog:usage``) is JSON or CSV;
the same figures as Prometheus text come from ``prometheus_text`` for ``/metrics``.
Refusals are ``403`` problems whose ``detail`` names the guardrail and why.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from starlette.responses import JSONResponse, Response

from gateway.api.openapi import ERRORS_OF_BODIES, ERRORS_OF_CALLERS, problem_responses
from gateway.api.problems import ApiProblem, problem_for
from gateway.api.security import Requires
from gateway.api.services import ApiServices, get_services
from gateway.callers.caller import Caller
from gateway.callers.scopes import CATALOG_RUN, CATALOG_USAGE
from gateway.selfservice import (
    RunRefusedError,
    RunStateError,
    SelfService,
    SelfServiceError,
    UnknownItemError,
    UnknownRunError,
)
from gateway.selfservice.catalog import CatalogItem
from gateway.selfservice.model import Run
from gateway.selfservice.schema import item_schema
from gateway.storage.errors import unavailable_cause

__all__ = ["RunRequest", "router"]

router = APIRouter(tags=["catalog"])

_ITEM = r"^[a-z][a-z0-9-]{0,63}$"
_RUN = r"^[0-9a-f]{32}$"
_KEY = r"^[A-Za-z0-9._:-]{1,128}$"

_ACTOR = (
    "The person the call is for: required when a service calls; a person leaves it out "
    "or names themselves."
)


class RunRequest(BaseModel):
    """The item's parameters; ``actor`` only when a service calls; ``dry_run`` shows what
    would happen and executes nothing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parameters: dict[str, JsonValue] = {}
    actor: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description=_ACTOR,
    )
    ticket: str | None = Field(default=None, min_length=1, max_length=128)
    dry_run: bool = False


def _service(services: ApiServices) -> SelfService:
    found = services.selfservice
    if found is None:
        raise ApiProblem(404, "catalog-disabled", "Catalog is off", "this gateway has no catalog")
    return found


def _actor(caller: Caller, named: str | None) -> str:
    if caller.is_person:
        if named not in (None, caller.id):
            raise ApiProblem(
                403, "not-yourself", "Not allowed", "a person acts as themselves; leave actor out"
            )
        return caller.id
    if named is None:
        raise ApiProblem(
            422, "actor-required", "Invalid request", "a service names the person it acts for"
        )
    return named


def _problem(error: SelfServiceError) -> ApiProblem:
    if isinstance(error, RunRefusedError):
        return ApiProblem(403, f"run-refused-{error.reason}", "Run refused", str(error))
    if isinstance(error, UnknownItemError):
        return ApiProblem(404, "catalog-item-not-found", "No such catalog item", str(error))
    if isinstance(error, UnknownRunError):
        return ApiProblem(404, "catalog-run-not-found", "No such run", str(error))
    if isinstance(error, RunStateError):
        return ApiProblem(409, "catalog-run-state", "Not possible in this state", str(error))
    if unavailable_cause(error) is not None:  # the database is down: storage-unavailable
        return problem_for(error)
    return ApiProblem(503, "catalog-unavailable", "Catalog unavailable", str(error))


def _item_view(item: CatalogItem, choices: dict[str, list[str]]) -> dict[str, Any]:
    d = item.definition
    return {
        **item.summary(),
        "keywords": d.keywords,
        "parameters": {
            name: {
                **p.model_dump(mode="json", exclude_defaults=True),
                "required": p.is_required,
                **({"choices": choices[name]} if name in choices else {}),
            }
            for name, p in d.parameters.items()
        },
        "guardrails": d.guardrails.model_dump(mode="json", exclude_defaults=True),
    }


def _mine(caller: Caller, run: Run) -> Run:
    if caller.is_person and run.actor != caller.id:
        raise _problem(UnknownRunError(run.id))
    return run


_Services = Annotated[ApiServices, Depends(get_services)]
runner = Requires(CATALOG_RUN)
usage_reader = Requires(CATALOG_USAGE)
_Runner = Annotated[Caller, Depends(runner)]
_ItemId = Annotated[str, Path(pattern=_ITEM)]
_RunId = Annotated[str, Path(pattern=_RUN)]


@router.get("/v1/catalog", responses=problem_responses(*ERRORS_OF_CALLERS, 404, 422))
def browse(
    caller: _Runner,
    services: _Services,
    search: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str | None, Query(pattern=_ITEM)] = None,
    actor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=256,
            description=_ACTOR,
        ),
    ] = None,
) -> list[dict[str, Any]]:
    """The items the person may see (the policy decides), matching every search word."""
    service = _service(services)
    items = service.browser.browse(_actor(caller, actor), search, category)
    return [item.summary() for item in items]


@router.get("/v1/catalog/items/{item_id}", responses=problem_responses(*ERRORS_OF_CALLERS, 404))
def show(
    item_id: _ItemId,
    caller: _Runner,
    services: _Services,
    actor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=256,
            description=_ACTOR,
        ),
    ] = None,
) -> dict[str, Any]:
    """One item, its parameters (with the values offered to the person) and guardrails."""
    service = _service(services)
    person = _actor(caller, actor)
    try:
        item = service.browser.show(person, item_id)
    except SelfServiceError as exc:
        raise _problem(exc) from exc
    return _item_view(item, service.browser.choices(person, item))


_FORM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The item's parameters as a JSON Schema (2020-12) for this person.",
        "content": {"application/schema+json": {"schema": {"type": "object"}}},
    },
    **problem_responses(*ERRORS_OF_CALLERS, 404),
}


@router.get("/v1/catalog/items/{item_id}/schema", response_class=JSONResponse, responses=_FORM)
def form(
    item_id: _ItemId,
    caller: _Runner,
    services: _Services,
    actor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=256,
            description=_ACTOR,
        ),
    ] = None,
) -> JSONResponse:
    """The item's parameters as a JSON Schema (2020-12) a portal renders as a form, with
    the person's own choices (their devices, the approved titles) as ``enum``; a run is
    checked against the same schema."""
    service = _service(services)
    person = _actor(caller, actor)
    try:
        item = service.browser.show(person, item_id)
    except SelfServiceError as exc:
        raise _problem(exc) from exc
    schema = item_schema(item, service.browser.choices(person, item))
    return JSONResponse(schema, media_type="application/schema+json")


_OBJECT = {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}
_RAN: dict[int | str, dict[str, Any]] = {
    200: {"description": "With ``dry_run``: what would happen; nothing ran.", "content": _OBJECT},
    202: {
        "description": "The run, admitted; it goes on in the background.",
        "content": _OBJECT,
        "headers": {"Location": {"description": "The run's URL.", "schema": {"type": "string"}}},
    },
}


@router.post(
    "/v1/catalog/items/{item_id}/runs",
    status_code=202,
    responses=_RAN | problem_responses(*ERRORS_OF_CALLERS, *ERRORS_OF_BODIES, 403, 404, 409, 503),
)
def run(
    item_id: _ItemId,
    body: RunRequest,
    caller: _Runner,
    services: _Services,
    idempotency_key: Annotated[str | None, Header(pattern=_KEY)] = None,
) -> JSONResponse:
    """Run the item (202 with the run; it goes on in the background), or with ``dry_run``
    show what would happen (200)."""
    service = _service(services)
    person = _actor(caller, body.actor)
    try:
        if body.dry_run:
            plan = service.dry_run(person, item_id, body.parameters)
            return JSONResponse(plan.as_json(), status_code=200)
        started = service.run(
            person,
            item_id,
            body.parameters,
            ticket=body.ticket,
            idempotency_key=idempotency_key,
            background=True,
        )
    except SelfServiceError as exc:
        raise _problem(exc) from exc
    return JSONResponse(
        started.as_json(), status_code=202, headers={"Location": f"/v1/catalog/runs/{started.id}"}
    )


@router.get("/v1/catalog/runs/{run_id}", responses=problem_responses(*ERRORS_OF_CALLERS, 404))
def status(run_id: _RunId, caller: _Runner, services: _Services) -> dict[str, Any]:
    """Where a run stands (its executions' states included)."""
    try:
        return _mine(caller, _service(services).get(run_id)).as_json()
    except SelfServiceError as exc:
        raise _problem(exc) from exc


@router.post(
    "/v1/catalog/runs/{run_id}/resume", responses=problem_responses(*ERRORS_OF_CALLERS, 403, 404)
)
def resume(run_id: _RunId, caller: _Runner, services: _Services) -> dict[str, Any]:
    """Go on after an approval or a step-up."""
    service = _service(services)
    try:
        found = _mine(caller, service.get(run_id))
        return service.resume(found.id).as_json()
    except SelfServiceError as exc:
        raise _problem(exc) from exc


@router.post(
    "/v1/catalog/runs/{run_id}/cancel", responses=problem_responses(*ERRORS_OF_CALLERS, 404, 409)
)
def cancel(run_id: _RunId, caller: _Runner, services: _Services) -> dict[str, Any]:
    """Cancel an unfinished run of one's own; what it did is undone."""
    service = _service(services)
    try:
        found = _mine(caller, service.get(run_id))
        return service.cancel(
            found.id, found.actor if not caller.is_person else caller.id
        ).as_json()
    except SelfServiceError as exc:
        raise _problem(exc) from exc


_USAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The usage report, as JSON or (format=csv) as CSV",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    },
    **problem_responses(*ERRORS_OF_CALLERS, 404, 422),
}


@router.get("/v1/catalog/usage", response_class=Response, responses=_USAGE_RESPONSES)
def usage(
    caller: Annotated[Caller, Depends(usage_reader)],
    services: _Services,
    as_format: Annotated[str, Query(alias="format", pattern="^(json|csv)$")] = "json",
) -> Response:
    """Runs, outcomes, refusals by reason, minutes saved, tickets deflected: per item and
    per department, as JSON or CSV."""
    report = _service(services).usage()
    if as_format == "csv":
        return Response(report.to_csv(), media_type="text/csv; charset=utf-8")
    return JSONResponse(report.as_json())
