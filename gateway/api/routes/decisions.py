"""Decisions: OPA's data API shape (``/v1/data/gateway/authz``) and a plain one.

A service (API key with ``decisions:write``) may ask about any actor; a person (bearer
token with ``decisions:write``) only about themselves, and asking about someone else is
refused (403) and audited as ``api.refused``.  Context the gateway alone sets (how long
ago the actor stepped up) is refused: the decision is given and audited as a deny, and
the answer is a 422 problem naming the field and the audited decision.

A decision costs one hop to a decision thread (``decisions_threads``: the caller's
credentials, facts, the decision point and the audit append, which waits for the group
commit); the answer is written on the event loop.  A well-formed JSON body is read and
checked by the route itself (``decisions_route``); any other request goes through
FastAPI's handler, whose problems (malformed JSON, invalid fields, another content type)
it answers with as before.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, JsonValue, WithJsonSchema, field_validator
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gateway.api.openapi import ERRORS_OF_BODIES, ERRORS_OF_CALLERS, problem_responses
from gateway.api.problems import ApiProblem, FieldProblem
from gateway.api.routes.decisions_route import quick_route
from gateway.api.routes.decisions_threads import in_decision_thread
from gateway.api.schemas import AUDITABLE_CONTEXT
from gateway.api.security import Requires, record_refusal
from gateway.api.services import ApiServices, get_services
from gateway.audit.canonical import CanonicalError, canonical_bytes, check_canonical
from gateway.callers.caller import Caller
from gateway.callers.errors import ForbiddenError
from gateway.callers.scopes import DECISIONS_WRITE
from gateway.policy.decision import Decision, Effect, Obligation, Reason
from gateway.policy.request import GATEWAY_CONTEXT, AccessRequest, ResourceRef

__all__ = ["DataRequest", "DataResponse", "DecisionInput", "DecisionResult", "router"]

router = APIRouter(tags=["decisions"])

_ACTION = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
_TYPE = r"^[a-z][a-z0-9_]*$"
_RESOURCE = r"^[a-z][a-z0-9_]*:[\s\S]{1,256}$"  # what ResourceRef accepts, as text
_RESOURCE_OBJECT = WithJsonSchema(
    {
        "type": "object",
        "title": "ResourceRef",
        "description": "A resource as an object: its type and its id.",
        "properties": {
            "type": {"type": "string", "pattern": _TYPE},
            "id": {"type": "string", "minLength": 1, "maxLength": 256},
        },
        "required": ["type", "id"],
        "additionalProperties": False,
    }
)


def _whole(value: JsonValue) -> JsonValue:
    """``value`` with its whole floats as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole(item) for item in value]
    if isinstance(value, dict):
        return {name: _whole(item) for name, item in value.items()}
    return value


class DecisionInput(BaseModel):
    """Who wants to do what, on which resource (``TYPE:ID`` or an object), in which context."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: str = Field(min_length=1, max_length=256)
    action: str = Field(pattern=_ACTION, max_length=128)
    resource: Annotated[ResourceRef, _RESOURCE_OBJECT] | Annotated[str, Field(pattern=_RESOURCE)]
    context: Annotated[dict[str, JsonValue], WithJsonSchema(AUDITABLE_CONTEXT)] = {}

    @field_validator("context")
    @classmethod
    def _auditable(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        """The context goes into the audit log as canonical JSON: integers within
        +-(2**53 - 1), no floats, valid Unicode.  A number written with a fraction or an
        exponent that is whole (``3.0``, ``1e3``) is the integer it equals, as JSON Schema
        counts it."""
        value = {name: _whole(item) for name, item in value.items()}
        try:
            check_canonical(value, "context")
            canonical_bytes(value, checked=True)
        except CanonicalError as exc:
            message = str(exc).removeprefix("record: ")
            raise ValueError(f"cannot be audited: {message}") from None
        return value

    def access_request(self) -> AccessRequest:
        return AccessRequest.model_validate(
            {
                "actor": self.actor,
                "action": self.action,
                "resource": self.resource,
                "context": self.context,
            }
        )


class DataRequest(BaseModel):
    """OPA's request shape: the question under ``input``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: DecisionInput


class DecisionResult(BaseModel):
    """The decision: ``allow`` is true only for an allow; obligations must still be met."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: bool
    decision: Effect
    obligations: list[Obligation]
    reasons: list[Reason]
    remedies: list[str]
    decision_id: str
    policy_digest: str
    policy_signers: list[str]  # who signed the bundle that decided
    decided_at: datetime

    @classmethod
    def of(cls, decision: Decision) -> DecisionResult:
        return cls(
            allow=decision.allowed,
            decision=decision.decision,
            obligations=list(decision.obligations),
            reasons=list(decision.reasons),
            remedies=list(decision.remedies),
            decision_id=decision.decision_id,
            policy_digest=decision.policy_digest,
            policy_signers=list(decision.policy_signers),
            decided_at=decision.decided_at,
        )


class DataResponse(BaseModel):
    """OPA's response shape: the decision under ``result``, its id beside it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    result: DecisionResult
    decision_id: str


_RESPONSES = problem_responses(*ERRORS_OF_CALLERS, *ERRORS_OF_BODIES)
_REQUIRES = Requires(DECISIONS_WRITE)
_Caller = Annotated[Caller, Depends(_REQUIRES)]
_Services = Annotated[ApiServices, Depends(get_services)]
# Content types FastAPI reads as JSON that the route reads itself; any other goes to FastAPI.
_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
_Body = TypeVar("_Body", DataRequest, DecisionInput)


def _json(answer: BaseModel) -> Response:
    """``answer`` as the JSON body FastAPI would write for its response model, without
    validating the model a second time (it was built from a decision just now)."""
    return Response(answer.model_dump_json().encode(), media_type="application/json")


def _threads(request: Request) -> int:
    """How many decision threads the app runs decisions in (``create_app`` sets it)."""
    threads: int = request.app.state.decision_threads
    return threads


def _decide(
    services: ApiServices, request: Request, caller: Caller, question: DecisionInput, where: str
) -> DecisionResult:
    if caller.is_person and question.actor != caller.id:
        refusal = ForbiddenError(
            "not_self",
            f"{caller.id} may ask only about themselves as actor, not about {question.actor!r}",
        )
        services.metrics.refusals.labels(refusal.reason).inc()
        record_refusal(services, request, caller, refusal)
        raise refusal
    decision = services.gateway.authorize(question.access_request())
    services.metrics.decisions.labels(str(decision.decision)).inc()
    forged = sorted(GATEWAY_CONTEXT.intersection(question.context))
    if forged:
        errors = [
            FieldProblem(
                field=f"{where}context.{name}", message="set by the gateway, not by callers"
            )
            for name in forged
        ]
        raise ApiProblem(
            422,
            "gateway-context",
            "Context set by the gateway",
            f"{errors[0].field}: set by the gateway, not by callers; the request was denied",
            errors=errors,
            decision_id=decision.decision_id,
        )
    return DecisionResult.of(decision)


def _authenticated_decision(
    services: ApiServices, request: Request, question: DecisionInput, where: str
) -> DecisionResult:
    """The route's credentials check (as its dependency makes it), then the decision."""
    caller = _REQUIRES(request, services, None, request.headers.get("x-api-key") or None)
    return _decide(services, request, caller, question, where)


async def _question(request: Request, model: type[_Body]) -> _Body | None:
    """The body as ``model`` when it is well-formed JSON, else ``None`` (nothing done)."""
    if request.headers.get("content-type") not in _JSON_TYPES:
        return None
    try:
        return model.model_validate(json.loads(await request.body()))
    except HTTPException:  # the body limit: answered as FastAPI's handler would
        raise
    except Exception:  # malformed, invalid or unreadable: FastAPI's handler says why
        return None


async def _quick_data_api(request: Request) -> Response | None:
    body = await _question(request, DataRequest)
    if body is None:
        return None
    services = await get_services(request)
    result = await in_decision_thread(
        _authenticated_decision, services, request, body.input, "input.", threads=_threads(request)
    )
    return _json(DataResponse(result=result, decision_id=result.decision_id))


async def _quick_decide(request: Request) -> Response | None:
    body = await _question(request, DecisionInput)
    if body is None:
        return None
    services = await get_services(request)
    result = await in_decision_thread(
        _authenticated_decision, services, request, body, "", threads=_threads(request)
    )
    return _json(result)


async def data_api(
    body: DataRequest, request: Request, caller: _Caller, services: _Services
) -> Response:
    """Decide ``input`` (scope ``decisions:write``), answered as OPA's data API does."""
    result = await in_decision_thread(
        _decide, services, request, caller, body.input, "input.", threads=_threads(request)
    )
    return _json(DataResponse(result=result, decision_id=result.decision_id))


async def decide(
    body: DecisionInput, request: Request, caller: _Caller, services: _Services
) -> Response:
    """Decide the request in the body (scope ``decisions:write``)."""
    result = await in_decision_thread(
        _decide, services, request, caller, body, "", threads=_threads(request)
    )
    return _json(result)


router.add_api_route(
    "/v1/data/gateway/authz",
    data_api,
    methods=["POST"],
    response_model=DataResponse,
    responses=_RESPONSES,
    route_class_override=quick_route(_quick_data_api),
)
router.add_api_route(
    "/v1/decisions",
    decide,
    methods=["POST"],
    response_model=DecisionResult,
    responses=_RESPONSES,
    route_class_override=quick_route(_quick_decide),
)
