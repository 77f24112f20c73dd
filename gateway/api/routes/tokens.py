"""The embedded token issuer's public keys, for anyone checking its tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from gateway.api.openapi import problem_responses
from gateway.api.problems import ApiProblem
from gateway.api.services import ApiServices, get_services

__all__ = ["router"]

router = APIRouter(tags=["tokens"])


class JsonWebKey(BaseModel):
    """An Ed25519 public key (RFC 8037)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class JsonWebKeySet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    keys: list[JsonWebKey]


@router.get("/.well-known/jwks.json", responses=problem_responses(404, 504))
async def jwks(services: Annotated[ApiServices, Depends(get_services)]) -> JsonWebKeySet:
    """The public keys of the embedded token issuer (public keys only).  Anonymous; 404
    when an identity provider issues the tokens (its own JWKS applies)."""
    issuer = services.callers.issuer
    if issuer is None:
        raise ApiProblem(
            404,
            "no-embedded-issuer",
            "No embedded token issuer",
            "tokens are issued by the configured identity provider; use its JWKS",
        )
    return JsonWebKeySet.model_validate(issuer.jwks())
