"""Route guards: who is calling, and whether they may call this route.

``Requires(scope)`` is a route dependency returning the ``Caller``.  In order: the
credentials are checked (401 when missing or refused, counted by reason and logged
without the credential); a person must be in the directory and active there, now, not
only when the token was issued (403 ``inactive-person`` or ``unknown-person``, audited as
``api.refused``; 503 when the directory cannot say: fail closed); a people-only route
refuses API keys (403; audited as ``api.refused`` when the route acts, because votes and
step-ups come from people); the credentials must grant the route's scope (403 naming it).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from gateway.api.services import ApiServices, get_services
from gateway.audit.records import AuditEvent
from gateway.callers.caller import Caller
from gateway.callers.errors import AuthenticationError, ForbiddenError
from gateway.callers.standing import verify_active_person
from gateway.errors import UnknownActorError

__all__ = ["Requires", "api_key_scheme", "bearer_scheme", "record_refusal", "route_template"]

log = logging.getLogger(__name__)

# Refusals always kept in the audit log: a token whose person may no longer act.
_ALWAYS_AUDITED = frozenset({"inactive_person", "unknown_person"})

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A person's token (JWT), or a service's API key (gwk_...).",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="apiKey",
    description="A service's API key (gwk_...).",
)


def route_template(request: Request) -> str:
    """The matched route's path template, e.g. ``/v1/approvals/{approval_id}``."""
    return str(getattr(request.scope.get("route"), "path", request.url.path))


def record_refusal(
    services: ApiServices, request: Request, caller: Caller, refusal: ForbiddenError
) -> None:
    """Keep a refusal that matters in the audit log as ``api.refused``."""
    audit = services.gateway.audit
    if audit is None:
        return
    audit.append(
        AuditEvent(
            type="api.refused",
            actor=caller.label,
            payload={
                "route": route_template(request),
                "method": request.method,
                "caller_kind": str(caller.kind),
                "reason": refusal.reason,
                "message": str(refusal),
            },
        )
    )


class Requires:
    """A route dependency: the authenticated caller, holding ``scope``.

    ``people_only`` refuses API keys; ``audited`` records that refusal in the audit log.
    With ``scope=None`` any authenticated caller passes.
    """

    def __init__(
        self, scope: str | None, *, people_only: bool = False, audited: bool = False
    ) -> None:
        self.scope = scope
        self.people_only = people_only
        self.audited = audited

    def __call__(
        self,
        request: Request,
        services: Annotated[ApiServices, Depends(get_services)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
        api_key: Annotated[str | None, Security(api_key_scheme)],
    ) -> Caller:
        # ``bearer`` documents the scheme; the raw header is read to explain a wrong one.
        authorization = request.headers.get("authorization")
        try:
            caller = services.callers.authenticator.authenticate(authorization, api_key)
        except AuthenticationError as exc:
            services.metrics.authentication_failures.labels(exc.reason).inc()
            log.info("%s %s: %s", request.method, route_template(request), exc)
            raise
        try:
            if caller.is_person:
                _verify_standing(services, caller)
            if self.people_only and not caller.is_person:
                raise ForbiddenError(
                    "people_only",
                    f"{route_template(request)} is for people with a bearer token, not API "
                    "keys: votes and step-ups come from people",
                )
            if self.scope is not None:
                caller.require(self.scope)
        except ForbiddenError as exc:
            services.metrics.refusals.labels(exc.reason).inc()
            log.info("%s %s: %s refused: %s", request.method, route_template(request),
                     caller.label, exc)  # fmt: skip
            if exc.reason in _ALWAYS_AUDITED or (self.audited and exc.reason == "people_only"):
                record_refusal(services, request, caller, exc)
            raise
        return caller


def _verify_standing(services: ApiServices, caller: Caller) -> None:
    """The person behind a token is still in the directory and active; the directory's
    cache makes this a read (``DirectoryUnavailableError``, 503, when it cannot say)."""
    try:
        verify_active_person(services.gateway.directory, caller.id)
    except UnknownActorError:
        raise ForbiddenError("unknown_person", f"{caller.id} is not in the directory") from None
