"""Microsoft Teams activities for the gateway's bot (the Bot Framework messaging endpoint).

No gateway credential: every activity must carry the Bot Framework's bearer token
(issuer, audience = ``[chat.teams] app_id``, a signing key of the configured JWKS); without
``[chat.teams]`` the route answers ``404``.  An ``Action.Execute`` of an approval card is
answered with the refreshed card.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.api.openapi import problem_responses
from gateway.api.problems import ApiProblem
from gateway.api.services import ApiServices, get_services
from gateway.chat.teams import TeamsChat

__all__ = ["router"]

router = APIRouter(tags=["chat"])

_ACTIVITY = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object"}}},
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Taken; for an invoke, the AdaptiveCardInvokeResponse.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    **problem_responses(400, 401, 404, 413),
}


def _teams(services: ApiServices) -> TeamsChat:
    chat = services.chat
    if chat is None or chat.teams is None:
        raise ApiProblem(404, "chat-disabled", "Teams is off", "[chat.teams] is not configured")
    return chat.teams


@router.post(
    "/v1/chat/teams/activities",
    responses=_ANSWERS,
    response_class=Response,
    openapi_extra={"requestBody": _ACTIVITY},
)
async def teams_activities(
    request: Request, services: Annotated[ApiServices, Depends(get_services)]
) -> Response:
    """An activity from the Bot Connector (an ``adaptiveCard/action`` invoke votes)."""
    teams = _teams(services)
    body = await request.body()
    answer = await run_in_threadpool(teams.activity, dict(request.headers), body)
    if answer.body is None:
        return Response(status_code=answer.status)
    return JSONResponse(answer.body, status_code=answer.status)
