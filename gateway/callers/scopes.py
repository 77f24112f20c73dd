"""The scopes a caller's credentials may grant, and which of them only people may hold.

A route names the one scope it needs.  API keys (services) may hold the service scopes;
the person-only scopes go in bearer tokens alone, because votes and step-ups come from
people, never from a service acting for one.  A new route adds its scope here.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.callers.errors import CallerRequestError

__all__ = [
    "APPROVALS_WRITE",
    "AUDIT_READ",
    "CATALOG_RUN",
    "CATALOG_USAGE",
    "DECISIONS_WRITE",
    "EXECUTIONS_READ",
    "EXECUTIONS_WRITE",
    "KNOWLEDGE_READ",
    "METRICS_READ",
    "OFFLINE_SYNC",
    "PERSON_DEFAULT_SCOPES",
    "PERSON_ONLY_SCOPES",
    "SCOPES",
    "STEPUP_WRITE",
    "TICKETS_WRITE",
    "TROUBLESHOOTING_WRITE",
    "check_scopes",
]

DECISIONS_WRITE = "decisions:write"
AUDIT_READ = "audit:read"
METRICS_READ = "metrics:read"
STEPUP_WRITE = "stepup:write"
APPROVALS_WRITE = "approvals:write"
EXECUTIONS_WRITE = "executions:write"
EXECUTIONS_READ = "executions:read"
CATALOG_RUN = "catalog:run"
CATALOG_USAGE = "catalog:usage"
TROUBLESHOOTING_WRITE = "troubleshooting:write"
TICKETS_WRITE = "tickets:write"
KNOWLEDGE_READ = "knowledge:read"
OFFLINE_SYNC = "offline:sync"

SCOPES: dict[str, str] = {
    DECISIONS_WRITE: "ask for decisions (a service for any actor, a person for themselves)",
    AUDIT_READ: "read signed checkpoints and Merkle proofs of the audit log",
    METRICS_READ: "read the Prometheus metrics",
    STEPUP_WRITE: "step up with a TOTP code and read one's own step-up status (people only)",
    APPROVALS_WRITE: "list, read and vote on approval requests (people only)",
    EXECUTIONS_WRITE: "start and cancel workflow executions (a service for any actor, a "
    "person as themselves)",
    EXECUTIONS_READ: "read workflow executions (a service any, a person their own)",
    CATALOG_RUN: "browse and run self-service catalog items (a service for a named person)",
    CATALOG_USAGE: "read self-service usage analytics",
    TROUBLESHOOTING_WRITE: "guide troubleshooting sessions and read their reports",
    TICKETS_WRITE: "deliver ticket events from help desk webhooks (ServiceNow, generic)",
    KNOWLEDGE_READ: "search the knowledge base, read articles and suggestions",
    OFFLINE_SYNC: "merge the audit segments field kits bring back (docs/offline.md)",
}
PERSON_ONLY_SCOPES = frozenset({STEPUP_WRITE, APPROVALS_WRITE})
# What a person's token grants unless other scopes are asked for.
PERSON_DEFAULT_SCOPES = frozenset(
    {
        DECISIONS_WRITE,
        STEPUP_WRITE,
        APPROVALS_WRITE,
        EXECUTIONS_WRITE,
        EXECUTIONS_READ,
        CATALOG_RUN,
        TROUBLESHOOTING_WRITE,
        KNOWLEDGE_READ,
    }
)


def check_scopes(scopes: Iterable[str], *, for_api_key: bool) -> frozenset[str]:
    """The scopes as a set; ``CallerRequestError`` for an unknown scope, or a person-only
    scope asked for an API key."""
    chosen = frozenset(scopes)
    unknown = sorted(chosen - SCOPES.keys())
    if unknown:
        known = ", ".join(sorted(SCOPES))
        raise CallerRequestError(f"unknown scope {unknown[0]!r}: expected one of {known}")
    if for_api_key and chosen & PERSON_ONLY_SCOPES:
        scope = sorted(chosen & PERSON_ONLY_SCOPES)[0]
        raise CallerRequestError(
            f"scope {scope} is for people only: API keys cannot hold it (use a bearer token)"
        )
    return chosen
