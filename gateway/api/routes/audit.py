"""The audit log for auditors: signed checkpoints and Merkle proofs (scope ``audit:read``).

Proofs match ``gateway audit prove --json`` and ``gateway audit consistency --json``:
hashes in standard base64, as C2SP checkpoints write them.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from starlette.responses import PlainTextResponse

from gateway.api.audit_snapshot import checkpoint_note, tree
from gateway.api.openapi import ERRORS_OF_CALLERS, problem_responses
from gateway.api.problems import ApiProblem, FieldProblem
from gateway.api.security import Requires
from gateway.api.services import ApiServices, get_services
from gateway.audit.store import AuditStore
from gateway.callers.caller import Caller
from gateway.callers.scopes import AUDIT_READ

__all__ = ["ConsistencyProof", "InclusionProof", "router"]

router = APIRouter(tags=["audit"])

CHECKPOINT_MEDIA_TYPE = "text/plain; charset=utf-8"


class InclusionProof(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int
    size: int
    leaf_hash: str
    root_hash: str
    proof: list[str]


class ConsistencyProof(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    old: int
    new: int
    old_root: str
    new_root: str
    proof: list[str]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _log(services: ApiServices) -> AuditStore:
    log = services.gateway.audit
    if log is None:
        raise ApiProblem(
            404,
            "audit-disabled",
            "Audit log is off",
            "auditing is off ([audit] unsafe_no_audit = true)",
        )
    return log


def _out_of_range(field: str, message: str) -> ApiProblem:
    return ApiProblem(
        422,
        "out-of-range",
        "Out of range",
        f"{field}: {message}",
        errors=[FieldProblem(field=field, message=message)],
    )


_Caller = Annotated[Caller, Depends(Requires(AUDIT_READ))]
_Services = Annotated[ApiServices, Depends(get_services)]


@router.get(
    "/v1/audit/checkpoint",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "A signed C2SP checkpoint note.",
            "content": {CHECKPOINT_MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        **problem_responses(*ERRORS_OF_CALLERS, 404),
    },
)
def checkpoint(caller: _Caller, services: _Services) -> PlainTextResponse:
    """A signed checkpoint over every record written so far."""
    log = _log(services)
    note = checkpoint_note(log, log.signer, services.audit_name)
    return PlainTextResponse(note, media_type=CHECKPOINT_MEDIA_TYPE)


@router.get("/v1/audit/proofs/inclusion", responses=problem_responses(*ERRORS_OF_CALLERS, 404, 422))
def inclusion(
    caller: _Caller,
    services: _Services,
    index: Annotated[int, Query(ge=0, description="The record (0-based), below size.")],
    size: Annotated[
        int, Query(ge=1, description="The tree size, at most the number of records in the log.")
    ],
) -> InclusionProof:
    """The proof that record ``index`` is in the tree of the first ``size`` records."""
    merkle = tree(_log(services))
    if size > merkle.size:
        raise _out_of_range("size", f"the log has {merkle.size} records, not {size}")
    if index >= size:
        raise _out_of_range("index", f"must be below size {size}")
    return InclusionProof(
        index=index,
        size=size,
        leaf_hash=_b64(merkle.leaf(index)),
        root_hash=_b64(merkle.root(size)),
        proof=[_b64(item) for item in merkle.inclusion_proof(index, size)],
    )


@router.get(
    "/v1/audit/proofs/consistency", responses=problem_responses(*ERRORS_OF_CALLERS, 404, 422)
)
def consistency(
    caller: _Caller,
    services: _Services,
    old: Annotated[int, Query(ge=0, description="The size the auditor holds, at most new.")],
    new: Annotated[
        int, Query(ge=0, description="A later size, at most the number of records in the log.")
    ],
) -> ConsistencyProof:
    """The proof that the tree of ``new`` records extends the tree of ``old`` records."""
    merkle = tree(_log(services))
    if new > merkle.size:
        raise _out_of_range("new", f"the log has {merkle.size} records, not {new}")
    if old > new:
        raise _out_of_range("old", f"must not exceed new ({new})")
    return ConsistencyProof(
        old=old,
        new=new,
        old_root=_b64(merkle.root(old)),
        new_root=_b64(merkle.root(new)),
        proof=[_b64(item) for item in merkle.consistency_proof(old, new)],
    )
