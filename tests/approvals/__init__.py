"""Shared set-up for the approval tests: a real directory, a real signed audit log, a
clock the test moves, and a service over a SQLite store in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from gateway.approvals import ApprovalRequest, ApprovalService, ApprovalStore, engine_roles
from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog, read_lines
from gateway.audit.records import AuditEvent, AuditRecord, parse_record
from gateway.identity.static import StaticDirectory, StaticDirectoryFile
from gateway.policy.bundle import load_bundle
from gateway.policy.decision import ApprovalObligation, Decision, Effect
from gateway.policy.engine import PolicyEngine
from gateway.policy.request import AccessRequest
from gateway.storage import Backend

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICIES = Path(__file__).resolve().parents[2] / "policies"

DIRECTORY = StaticDirectoryFile.model_validate(
    {
        "groups": {"security-team": {"member_of": ["it-staff"]}, "helpdesk": {}},
        "users": {
            "alice": {"groups": ["staff"], "manager": "carol"},
            "carol": {"groups": ["staff"]},
            "henry": {"groups": ["helpdesk"], "manager": "mia"},
            "mia": {"groups": ["staff"]},
            "hugo": {"groups": ["helpdesk"]},
            "sue": {"groups": ["security-team"]},
            "sam": {"groups": ["security-team"]},
            "sara": {"groups": ["security-team"]},
            "ian": {"groups": ["it-admins"]},
            "dave": {"groups": ["security-team"], "status": "disabled"},
            "nomgr": {"groups": ["staff"]},
        },
    }
)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@cache
def engine() -> PolicyEngine:
    return PolicyEngine(load_bundle(POLICIES))


def obligation(approvers: str = "manager", quorum: int = 1, **extra: Any) -> ApprovalObligation:
    return ApprovalObligation(
        name=extra.pop("name", "approval"),
        approvers=tuple(approvers.split(",")),
        quorum=quorum,
        policy="test-policy",
        **extra,
    )


def access(
    resource: str = "account:alice", actor: str = "henry", **parameters: Any
) -> AccessRequest:
    return AccessRequest.model_validate(
        {
            "actor": actor,
            "action": "account.reset_password",
            "resource": resource,
            "context": {"channel": "api", "parameters": parameters},
        }
    )


def decision(request: AccessRequest, effect: Effect = Effect.ALLOW) -> Decision:
    return Decision(
        decision=effect,
        decision_id="dec-1",
        policy_digest="sha256:" + "ab" * 32,
        decided_at=START,
        request=request,
    )


@dataclass
class Harness:
    """A service with its clock, directory, store and audit log; close it after use."""

    root: Path
    backend: Backend | None = None  # SQLite files unless a test gives another
    clock: FakeClock = field(default_factory=FakeClock)
    signer: Signer = field(default_factory=Signer.generate)
    log: AuditLog = field(init=False)
    store: ApprovalStore = field(init=False)
    service: ApprovalService = field(init=False)

    def __post_init__(self) -> None:
        self.log = AuditLog(self.root / "audit.jsonl", self.signer)
        self.store = ApprovalStore(self.root / "var" / "approvals.db", backend=self.backend)
        self.service = self.build()

    def build(self, **options: Any) -> ApprovalService:
        settings: dict[str, Any] = {
            "authorise": lambda approver, item: None,
            "roles": engine_roles(engine),
            "audit": self.log.append,
            "clock": self.clock,
        }
        settings.update(options)
        return ApprovalService(self.store, StaticDirectory(DIRECTORY), **settings)

    def open(
        self, *items: ApprovalObligation, request: AccessRequest | None = None, **kw: Any
    ) -> ApprovalRequest:
        request = request if request is not None else access()
        requester = kw.pop("requester", request.actor)
        return self.service.open(
            request, decision(request), items or (obligation(),), requester=requester
        )

    def records(self) -> list[AuditRecord]:
        return [parse_record(line, n) for n, line in enumerate(read_lines(self.log.path))]

    def types(self) -> list[str]:
        return [record.type for record in self.records()]

    def close(self) -> None:
        self.store.close()
        self.log.close()


def failing_sink(calls: list[AuditEvent]) -> Callable[[AuditEvent], object]:
    def sink(event: AuditEvent) -> object:
        calls.append(event)
        raise RuntimeError("audit down")

    return sink
