"""Slack's requests: interactivity (buttons, modals) and the slash command.

No gateway credential: Slack cannot send one.  Every request must carry Slack's signature
(``X-Slack-Signature``, checked with ``[chat.slack] signing_secret_env``) and be at most
five minutes old; without ``[chat.slack]`` the routes answer ``404``.  Slack wants an
answer within three seconds: the answer comes first, the message update after it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.api.openapi import problem_responses
from gateway.api.problems import ApiProblem
from gateway.api.services import ApiServices, get_services
from gateway.chat.answer import ChatAnswer
from gateway.chat.slack import SlackChat

__all__ = ["router"]

router = APIRouter(tags=["chat"])

_FORM = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {"type": "object", "additionalProperties": {"type": "string"}}
        }
    },
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Taken; the JSON body (if any) is what Slack shows or does.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    **problem_responses(400, 401, 404, 413),
}


def _slack(services: ApiServices) -> SlackChat:
    chat = services.chat
    if chat is None or chat.slack is None:
        raise ApiProblem(404, "chat-disabled", "Slack is off", "[chat.slack] is not configured")
    return chat.slack


def _reply(answer: ChatAnswer, background: BackgroundTasks) -> Response:
    if answer.later:
        background.add_task(answer.run_later)
    if answer.body is None:
        return Response(status_code=answer.status)
    return JSONResponse(answer.body, status_code=answer.status)


_Services = Annotated[ApiServices, Depends(get_services)]


@router.post(
    "/v1/chat/slack/interactions",
    responses=_ANSWERS,
    response_class=Response,
    openapi_extra={"requestBody": _FORM},
)
async def slack_interactions(
    request: Request, services: _Services, background: BackgroundTasks
) -> Response:
    """A Slack interaction (``payload``: ``block_actions`` or ``view_submission``)."""
    slack = _slack(services)
    body = await request.body()
    answer = await run_in_threadpool(slack.interaction, dict(request.headers), body)
    return _reply(answer, background)


@router.post(
    "/v1/chat/slack/commands",
    responses=_ANSWERS,
    response_class=Response,
    openapi_extra={"requestBody": _FORM},
)
async def slack_commands(
    request: Request, services: _Services, background: BackgroundTasks
) -> Response:
    """The slash command: no text lists the catalog items one may run; an item id opens
    its form."""
    slack = _slack(services)
    body = await request.body()
    answer = await run_in_threadpool(slack.command, dict(request.headers), body)
    return _reply(answer, background)
