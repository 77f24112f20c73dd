"""``POST /v1/offline/segments``: merge the audit segment a field kit brings back (scope
``offline:sync``), as ``gateway offline sync`` does (``docs/offline.md``).

The body is the segment file itself (``application/x-ndjson``): a kit's first segment, or
a later one continuing the kit's chain (a new file, or the same file grown since it was
merged).  A merged segment answers 201, one already merged 200, and one that does not
verify or does not continue the kit (a gap, a fork) a 422 problem ``segment-refused``
naming the first bad record (it is kept aside, recorded and alerted).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from gateway.api.openapi import ERRORS_OF_CALLERS, problem_responses
from gateway.api.problems import ApiProblem
from gateway.api.security import Requires
from gateway.api.services import ApiServices, get_services
from gateway.callers.caller import Caller
from gateway.callers.scopes import OFFLINE_SYNC
from gateway.clock import utcnow
from gateway.offline.replay import make_replay
from gateway.offline.sync import SyncOutcome, merge_segment

__all__ = ["MergedSegment", "router"]

router = APIRouter(tags=["offline"])

_Caller = Annotated[Caller, Depends(Requires(OFFLINE_SYNC))]
_Services = Annotated[ApiServices, Depends(get_services)]


class MergedSegment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status: str  # merged, already merged
    kit_id: str | None
    segment: int | None  # its number among the kit's merges
    records: int
    head_hash: str | None
    record: int | None
    conflicts: list[dict[str, Any]]  # offline.conflict records: the segment's and central's
    replayed: list[dict[str, Any]]


def _merge(services: ApiServices, caller: Caller, data: bytes, name: str) -> SyncOutcome:
    audit = services.gateway.audit
    if audit is None or services.offline_quarantine is None:
        raise ApiProblem(404, "audit-disabled", "Audit log is off", "segments need the audit log")
    return merge_segment(
        data,
        name,
        audit=audit,
        quarantine=services.offline_quarantine,
        now=utcnow(),
        actor=caller.label,
        notifier=services.notifier,
        replay=make_replay(services.gateway, audit.append),
        storage=getattr(services.gateway, "storage", None),  # the Gateway's backend
    )


@router.post(
    "/v1/offline/segments",
    status_code=201,
    response_model=MergedSegment,
    responses=problem_responses(*ERRORS_OF_CALLERS, 404, 413, 422),
)
async def merge(request: Request, caller: _Caller, services: _Services) -> JSONResponse:
    """Verify a segment and merge it into the central audit log; replay its queue with
    fresh decisions (workflows of queued actions run from ``gateway offline sync``)."""
    data = await request.body()
    name = request.headers.get("x-segment-name", "segment.log")
    outcome = await run_in_threadpool(_merge, services, caller, data, name)
    if outcome.status == "refused":
        raise ApiProblem(422, "segment-refused", "Segment refused", str(outcome.reason))
    body = MergedSegment(
        status=outcome.status,
        kit_id=outcome.kit_id,
        segment=outcome.segment,
        records=outcome.records,
        head_hash=outcome.head_hash,
        record=outcome.record,
        conflicts=list(outcome.conflicts),
        replayed=list(outcome.replayed),
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=201 if outcome.status == "merged" else 200
    )
