"""``create_app``: the HTTP API as a FastAPI app over one enforcement point.

Layers, outermost first: metrics (every request counted and timed), the request timeout
(504), the body size limit (413), then FastAPI's routing, whose errors all become
problem details.  Routes come from a list of routers, so a part of the gateway adds its
own with ``create_app(..., routers=[*DEFAULT_ROUTERS, its_router])``.  Everything but
``/healthz``, ``/readyz``, ``/.well-known/jwks.json`` and ``OPTIONS`` (the ``Allow`` of
any path, ``gateway.api.methods``) needs credentials, the OpenAPI document included
(``GET /openapi.json``, any authenticated caller).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from gateway.api import methods
from gateway.api.limits import BodyLimitMiddleware, TimeoutMiddleware
from gateway.api.metrics import ApiMetrics, MetricsMiddleware
from gateway.api.openapi import openapi_document
from gateway.api.problems import ApiProblem, FieldProblem, problem_for, problem_response
from gateway.api.routes import DEFAULT_ROUTERS
from gateway.api.routes.decisions_threads import threads_for
from gateway.api.security import Requires
from gateway.api.services import ApiServices
from gateway.callers.authentication import Callers, open_callers
from gateway.callers.caller import Caller
from gateway.config import GatewayConfig
from gateway.enforcement.point import EnforcementPoint
from gateway.errors import GatewayError
from gateway.knowledge.base import KnowledgeBase
from gateway.notify.reliable import ReliableNotifier
from gateway.runtime.executor import Executor
from gateway.selfservice.service import SelfService
from gateway.tickets.service import TicketService
from gateway.troubleshooting.engine import TroubleshootingEngine

__all__ = ["create_app"]

log = logging.getLogger("gateway.api")

_HTTP_PROBLEMS: dict[int, tuple[str, str]] = {
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("content-too-large", "Content too large"),
}


def create_app(
    gateway: EnforcementPoint,
    config: GatewayConfig | None = None,
    *,
    callers: Callers | None = None,
    routers: Sequence[APIRouter] = DEFAULT_ROUTERS,
    runtime: Executor | None = None,
    selfservice: SelfService | None = None,
    troubleshooting: TroubleshootingEngine | None = None,
    tickets: TicketService | None = None,
    knowledge: KnowledgeBase | None = None,
    notifier: ReliableNotifier | None = None,
) -> FastAPI:
    """The HTTP API over ``gateway`` with the ``[api]`` settings of ``config`` (embedded
    defaults when omitted); ``callers`` defaults to ``open_callers(config.api)``; people
    are told of their approvals' outcomes through ``notifier`` when one is given.  Close
    ``app.state.services`` when done; the gateway stays its builder's to close."""
    config = config if config is not None else GatewayConfig()
    settings = config.api
    services = ApiServices(
        gateway=gateway,
        callers=(
            callers
            if callers is not None
            else open_callers(settings, backend=getattr(gateway, "storage", None))
        ),
        settings=settings,
        audit_name=config.audit.name,
        metrics=ApiMetrics(),
        notifier=notifier,
        runtime=runtime,
        selfservice=selfservice,
        troubleshooting=troubleshooting,
        tickets=tickets,
        knowledge=knowledge,
        offline_quarantine=config.offline.quarantine,
    )
    app = FastAPI(
        title="IT support gateway",
        version="1",
        description="Decisions, executions, step-up, approvals and audit proofs; see docs/api.md.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        middleware=[
            Middleware(MetricsMiddleware, metrics=services.metrics),
            Middleware(TimeoutMiddleware, seconds=settings.request_timeout_seconds),
            Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
        ],
    )
    app.state.services = services
    # decisions run in threads of their own, as many as suit where records are committed
    storage = getattr(getattr(gateway, "storage", None), "name", None)
    app.state.decision_threads = threads_for(storage)
    for router in routers:
        app.include_router(router)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(caller: Annotated[Caller, Depends(Requires(None))]) -> dict[str, Any]:
        return openapi_document(app)

    app.include_router(methods.router)  # last: OPTIONS on any path the others serve
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    _install_problem_handlers(app)
    return app


def _install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def gateway_error(request: Request, exc: GatewayError) -> Response:
        problem = problem_for(exc)
        if problem.status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        return problem_response(problem, request.url.path)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        name, title = _HTTP_PROBLEMS.get(exc.status_code, ("http-error", "HTTP error"))
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:  # the router names one route's method; tell them all
            allowed = methods.allowed_methods(app.router.routes, request.scope["path"])
            if not allowed:  # only the OPTIONS route matched: no such path
                return problem_response(methods.not_found(request.scope), request.url.path)
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        problem = ApiProblem(exc.status_code, name, title, str(exc.detail), headers=headers)
        return problem_response(problem, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(_validation_problem(exc.errors()), request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("%s %s: unexpected %s", request.method, request.url.path, type(exc).__name__)
        problem = ApiProblem(
            500, "internal-error", "Internal error", "the gateway could not complete the request"
        )
        return problem_response(problem, request.url.path)


def _field(location: Sequence[Any]) -> str:
    parts = list(location[1:]) if location and location[0] in {"body", "query", "path"} else []
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "body"


def _validation_problem(errors: Sequence[Any]) -> ApiProblem:
    first = errors[0]  # a validation error has at least one
    if first["type"] == "json_invalid":
        position = first["loc"][-1]
        reason = first.get("ctx", {}).get("error", "invalid JSON")
        return ApiProblem(
            400, "malformed-json", "Malformed JSON", f"body: not JSON: {reason} at {position}"
        )
    fields = [FieldProblem(field=_field(error["loc"]), message=error["msg"]) for error in errors]
    more = f" (and {len(fields) - 1} more)" if len(fields) > 1 else ""
    return ApiProblem(
        422,
        "invalid-request",
        "Invalid request",
        f"{fields[0].field}: {fields[0].message}{more}",
        errors=fields,
    )
