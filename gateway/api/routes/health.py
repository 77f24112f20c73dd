"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from gateway.api.openapi import ERRORS_OF_CALLERS, problem_responses
from gateway.api.problems import ApiProblem
from gateway.api.readiness import readiness_problems
from gateway.api.security import Requires
from gateway.api.services import ApiServices, get_services
from gateway.callers.caller import Caller
from gateway.callers.scopes import METRICS_READ

__all__ = ["router"]

router = APIRouter(tags=["health"])

PROMETHEUS_TEXT = CONTENT_TYPE_PLAIN_0_0_4  # what ``generate_latest`` writes


class Health(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status: str


class Readiness(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status: str
    policy_digest: str  # the bundle in force


@router.get("/healthz", responses=problem_responses(504))
async def healthz() -> Health:
    """Liveness: the process answers.  Anonymous."""
    return Health(status="ok")


@router.get("/readyz", responses=problem_responses(503, 504))
def readyz(services: Annotated[ApiServices, Depends(get_services)]) -> Readiness:
    """Readiness: the audit log can be appended to and no identity source is cut off;
    503 naming each failed check otherwise.  Anonymous."""
    gateway = services.gateway
    problems = readiness_problems(gateway)
    if problems:
        raise ApiProblem(
            503, "not-ready", "Not ready", "; ".join(problems.values()), checks=problems
        )
    return Readiness(status="ready", policy_digest=gateway.policies.engine.digest)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format.", "content": {PROMETHEUS_TEXT: {}}},
        **problem_responses(*ERRORS_OF_CALLERS),
    },
)
def metrics(
    caller: Annotated[Caller, Depends(Requires(METRICS_READ))],
    services: Annotated[ApiServices, Depends(get_services)],
) -> Response:
    """Prometheus metrics (scope ``metrics:read``)."""
    return Response(services.metrics.render(), media_type=PROMETHEUS_TEXT)
