"""One clock for the whole package: ``gateway.clock``."""

from __future__ import annotations

import ast
import inspect
from datetime import UTC, datetime, timedelta

from gateway.approvals.service import ApprovalService
from gateway.audit.log import AuditLog
from gateway.callers.api_keys import ApiKeyStore
from gateway.callers.issuer import TokenIssuer
from gateway.changes.calendar import ChangeCalendar
from gateway.clock import utcnow
from gateway.identity.resolver import IdentityResolver
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.runtime.executor import Executor
from gateway.selfservice.service import SelfService
from gateway.stepup.service import StepUpService
from gateway.tickets.service import TicketService
from gateway.troubleshooting.engine import TroubleshootingEngine
from tests.sources import places, written_as

# Modules that still read the time their own way; each should import ``gateway.clock``.
STILL_THEIR_OWN: set[str] = set()


def test_utcnow_is_the_current_time_in_utc() -> None:
    before = datetime.now(UTC)
    now = utcnow()
    assert now.tzinfo is UTC
    assert before <= now <= before + timedelta(seconds=5)


def _reads_the_time_by_hand(node: ast.AST) -> bool:
    if isinstance(node, ast.FunctionDef):
        [first, *_] = node.body
        return isinstance(first, ast.Return) and written_as(first.value, "datetime.now(UTC)")
    if isinstance(node, ast.Lambda):
        return written_as(node.body, "datetime.now(UTC)")
    return written_as(node, "Callable[[], datetime]")


def test_no_module_writes_its_own_clock() -> None:
    found = {place.split(":")[0] for place in places(_reads_the_time_by_hand)}
    assert found - STILL_THEIR_OWN == {"gateway/clock.py"}


def test_services_read_the_one_clock_unless_given_another() -> None:
    takers = [
        ApprovalService,
        ApiKeyStore,
        ChangeCalendar,
        Executor,
        PolicyDecisionPoint,
        SelfService,
        StepUpService,
        TicketService,
        TokenIssuer,
        TroubleshootingEngine,
    ]
    for taker in takers:
        assert inspect.signature(taker).parameters["clock"].default is utcnow, taker.__name__
    assert inspect.signature(AuditLog).parameters["clock"].default is utcnow
    assert inspect.signature(IdentityResolver).parameters["wall_clock"].default is utcnow
