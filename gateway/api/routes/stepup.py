"""Step-up for the calling person: verify a TOTP (or recovery) code, read one's status.

People only (bearer token with ``stepup:write``); the person is the token's subject, so
nobody steps up for someone else.  A wrong code is 401, a locked step-up 429 with
``Retry-After``, no enrolment 409.  The step-up service audits every attempt.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from starlette.responses import Response

from gateway.api.openapi import ERRORS_OF_BODIES, ERRORS_OF_CALLERS, problem_responses
from gateway.api.problems import ApiProblem
from gateway.api.security import Requires
from gateway.api.services import ApiServices, get_services
from gateway.callers.caller import Caller
from gateway.callers.scopes import STEPUP_WRITE
from gateway.stepup import recovery, totp
from gateway.stepup.service import StepUpService

__all__ = ["StepUpStatus", "StepUpVerification", "router"]

router = APIRouter(tags=["step-up"])

DIGEST = r"^sha256:[0-9a-f]{64}$"
_RECOVERY_CHARACTERS = "".join(sorted(set(recovery.ALPHABET + recovery.ALPHABET.upper())))
# The formats the step-up service checks: six ASCII digits, or a recovery code of 16
# characters of its alphabet, optionally grouped by '-' (19 characters at most).
_TOTP_CODE: JsonDict = {"pattern": f"^[0-9]{{{totp.DIGITS}}}$"}
_RECOVERY_CODE: JsonDict = {
    "pattern": f"^-*(?:[{_RECOVERY_CHARACTERS}]-*){{{recovery.CODE_LENGTH}}}$",
    "maxLength": recovery.CODE_LENGTH + recovery.CODE_LENGTH // recovery.GROUP - 1,
}


class StepUpVerification(BaseModel):
    """A code from the person's authenticator app (or, with ``recovery``, a one-time
    recovery code), optionally bound to the digest of the one request it is for."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "if": {"properties": {"recovery": {"const": True}}, "required": ["recovery"]},
            "then": {"properties": {"code": _RECOVERY_CODE}},
            "else": {"properties": {"code": _TOTP_CODE}},
        },
    )

    code: str = Field(min_length=1, max_length=64)
    bound_to: str | None = Field(default=None, pattern=DIGEST)
    recovery: bool = False


class StepUpStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str
    enrolled: bool
    locked_until: datetime | None
    last_step_up: datetime | None


def _stepup(services: ApiServices) -> StepUpService:
    stepup = services.gateway.stepup
    if stepup is None:
        raise ApiProblem(
            404,
            "step-up-disabled",
            "Step-up is off",
            "step-up is disabled ([stepup] enabled = false)",
        )
    return stepup


_Services = Annotated[ApiServices, Depends(get_services)]


@router.post(
    "/v1/stepup/verify",
    status_code=204,
    response_class=Response,
    responses=problem_responses(*ERRORS_OF_CALLERS, *ERRORS_OF_BODIES, 404, 409, 429),
)
def verify(
    body: StepUpVerification,
    caller: Annotated[Caller, Depends(Requires(STEPUP_WRITE, people_only=True, audited=True))],
    services: _Services,
) -> Response:
    """Step up as the calling person; 204 when the code is accepted."""
    stepup = _stepup(services)
    if body.recovery:
        stepup.verify_recovery_code(caller.id, body.code, bound_to=body.bound_to)
    else:
        stepup.verify(caller.id, body.code, bound_to=body.bound_to)
    if services.runtime is not None:  # executions waiting for this step-up go on now
        services.runtime.wake_stepped_up(caller.id)
    return Response(status_code=204)


@router.get("/v1/stepup/status", responses=problem_responses(*ERRORS_OF_CALLERS, 404))
def status(
    caller: Annotated[Caller, Depends(Requires(STEPUP_WRITE, people_only=True))],
    services: _Services,
) -> StepUpStatus:
    """Whether the calling person is enrolled, locked out, and when they last stepped up."""
    stepup = _stepup(services)
    return StepUpStatus(
        user=caller.id,
        enrolled=stepup.is_enrolled(caller.id),
        locked_until=stepup.locked_until(caller.id, datetime.now(UTC)),
        last_step_up=stepup.last_step_up(caller.id),
    )
