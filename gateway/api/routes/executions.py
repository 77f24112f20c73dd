"""Executions of workflows: start one, follow it, cancel it, read a sealed output once.

A person (bearer token with ``executions:write``) starts executions as themselves; a
service (API key with ``executions:write``) names the actor it acts for, exactly as it
would ask for a decision, and every privileged step is still decided for that actor.
``Idempotency-Key`` makes a retried request give the same execution; the same key with
another request is a 409.  A person sees and cancels their own executions; a service with
``executions:read`` sees any.  A secret output (a temporary password) is given once, to the
execution's actor only, and never to a service.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from starlette.responses import JSONResponse

from gateway.api.openapi import ERRORS_OF_BODIES, ERRORS_OF_CALLERS, problem_responses
from gateway.api.problems import ApiProblem
from gateway.api.security import Requires
from gateway.api.services import ApiServices, get_services
from gateway.callers.caller import Caller
from gateway.callers.scopes import EXECUTIONS_READ, EXECUTIONS_WRITE
from gateway.runtime.executor import Executor
from gateway.runtime.model import Execution

__all__ = ["ExecutionView", "StartExecution", "router"]

router = APIRouter(tags=["executions"])

_ID = r"^[0-9a-f]{32}$"
_KEY = r"^[A-Za-z0-9._:-]{1,128}$"

_ACTOR = (
    "The person the call is for: required when a service calls; a person leaves it out "
    "or names themselves."
)


class StartExecution(BaseModel):
    """Which workflow, with which parameters; ``actor`` only when a service calls."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workflow: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    parameters: dict[str, JsonValue] = {}
    actor: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description=_ACTOR,
    )
    ticket: str | None = Field(default=None, min_length=1, max_length=128)
    change_request: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2,10}[0-9]{1,20}$",
        description="the change number the execution acts under (e.g. CHG0030001)",
    )


class StepView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str
    state: str
    attempts: int
    decision_id: str | None
    approval_id: str | None
    digest: str | None
    parameters: dict[str, JsonValue]
    output: dict[str, JsonValue]
    secret_outputs: list[str]
    error: str | None
    started_at: str | None
    finished_at: str | None
    next_attempt_at: str | None


class ExecutionView(BaseModel):
    """An execution as its caller sees it; ``status`` says what it waits for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    workflow: str
    workflow_version: int
    workflow_digest: str
    actor: str
    parameters: dict[str, JsonValue]
    channel: str
    ticket: str | None
    change_request: str | None
    target: str | None
    state: str
    status: str
    waiting: dict[str, JsonValue] | None
    error: str | None
    parent: str | None
    created_at: str
    updated_at: str
    finished_at: str | None
    steps: list[StepView]

    @classmethod
    def of(cls, execution: Execution) -> ExecutionView:
        return cls.model_validate(execution.as_json())


class WorkflowView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    description: str
    version: int
    parameters: dict[str, dict[str, JsonValue]]


class SecretOutput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    value: str  # shown once; it is deleted as it is read


def _runtime(services: ApiServices) -> Executor:
    if services.runtime is None:
        raise ApiProblem(
            404, "runtime-disabled", "Runtime is off", "this gateway runs no workflows"
        )
    return services.runtime


def _visible(caller: Caller, execution: Execution) -> Execution:
    """A person sees their own executions only; others look like they do not exist."""
    if caller.is_person and execution.actor != caller.id:
        raise ApiProblem(
            404, "execution-not-found", "No such execution", f"unknown execution {execution.id!r}"
        )
    return execution


_Services = Annotated[ApiServices, Depends(get_services)]
_ExecutionId = Annotated[str, Path(pattern=_ID)]


@router.get("/v1/workflows", responses=problem_responses(*ERRORS_OF_CALLERS, 404))
def workflows(
    caller: Annotated[Caller, Depends(Requires(EXECUTIONS_WRITE))], services: _Services
) -> list[WorkflowView]:
    """The workflows this gateway runs, with their parameters."""
    runtime = _runtime(services)
    return [
        WorkflowView(
            id=w.id,
            title=w.definition.title,
            description=w.definition.description,
            version=w.definition.version,
            parameters={
                name: spec.model_dump(mode="json", exclude_none=True)
                for name, spec in w.definition.parameters.items()
            },
        )
        for w in runtime.workflows
    ]


_STARTED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": ExecutionView,
        "description": "The execution, started; it goes on in the background.",
        "headers": {
            "Location": {"description": "The execution's URL.", "schema": {"type": "string"}}
        },
    }
}


@router.post(
    "/v1/executions",
    status_code=202,
    responses=_STARTED | problem_responses(*ERRORS_OF_CALLERS, *ERRORS_OF_BODIES, 404, 409, 503),
)
def start(
    body: StartExecution,
    caller: Annotated[Caller, Depends(Requires(EXECUTIONS_WRITE))],
    services: _Services,
    idempotency_key: Annotated[str | None, Header(pattern=_KEY)] = None,
) -> JSONResponse:
    """Start a workflow; 202 with the execution, which goes on in the background."""
    runtime = _runtime(services)
    if caller.is_person:
        if body.actor not in (None, caller.id):
            raise ApiProblem(
                403,
                "not-yourself",
                "Not allowed",
                "a person starts executions as themselves; leave actor out",
            )
        actor = caller.id
    elif body.actor is None:
        raise ApiProblem(
            422,
            "actor-required",
            "Invalid request",
            "a service names the actor it acts for (actor)",
        )
    else:
        actor = body.actor
    execution = runtime.start(
        body.workflow,
        body.parameters,
        actor=actor,
        channel="api",
        ticket=body.ticket,
        idempotency_key=idempotency_key,
        change_request=body.change_request,
    )
    if not execution.state.finished:
        runtime.submit(execution.id)
    view = ExecutionView.of(runtime.get(execution.id))
    return JSONResponse(
        view.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/v1/executions/{execution.id}"},
    )


@router.get("/v1/executions", responses=problem_responses(*ERRORS_OF_CALLERS, 404, 422))
def list_executions(
    caller: Annotated[Caller, Depends(Requires(EXECUTIONS_READ))],
    services: _Services,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ExecutionView]:
    """The latest executions: a person's own, or any for a service."""
    runtime = _runtime(services)
    actor = caller.id if caller.is_person else None
    return [ExecutionView.of(e) for e in runtime.recent(actor=actor, limit=limit)]


@router.get(
    "/v1/executions/{execution_id}", responses=problem_responses(*ERRORS_OF_CALLERS, 404, 422)
)
def show(
    execution_id: _ExecutionId,
    caller: Annotated[Caller, Depends(Requires(EXECUTIONS_READ))],
    services: _Services,
) -> ExecutionView:
    """One execution, step by step."""
    return ExecutionView.of(_visible(caller, _runtime(services).get(execution_id)))


@router.post(
    "/v1/executions/{execution_id}/cancel",
    responses=problem_responses(*ERRORS_OF_CALLERS, 404, 409, 422),
)
def cancel(
    execution_id: _ExecutionId,
    caller: Annotated[Caller, Depends(Requires(EXECUTIONS_WRITE))],
    services: _Services,
) -> ExecutionView:
    """Cancel an unfinished execution; what it did is undone."""
    runtime = _runtime(services)
    execution = _visible(caller, runtime.get(execution_id))
    return ExecutionView.of(runtime.cancel(execution.id, caller.label))


@router.post(
    "/v1/executions/{execution_id}/secrets/{name}",
    responses=problem_responses(*ERRORS_OF_CALLERS, 404, 409, 422),
)
def read_secret(
    execution_id: _ExecutionId,
    name: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")],
    caller: Annotated[Caller, Depends(Requires(EXECUTIONS_WRITE, people_only=True))],
    services: _Services,
) -> SecretOutput:
    """A sealed output of the caller's own execution, once."""
    runtime = _runtime(services)
    execution = _visible(caller, runtime.get(execution_id))
    return SecretOutput(name=name, value=runtime.reveal(execution.id, name, caller.id))
