"""The authorization table: every HTTP route and every command, who may call it, the scope
it needs, the policy action that decides it and the audit event it writes.

One declarative list, read three ways: the tests compare it with the routes FastAPI
serves (their guards included) and the commands click offers, so a new route or command
cannot land without an entry; generated tests check that the weakest credential is
refused and that the audit event is written; and ``docs/api.md`` shows it
(``gateway callers table --markdown``), so the document cannot drift.

Callers:

    anonymous   no credentials (health, readiness, the token issuer's public keys)
    signed      no credentials, but a signature over the body (Jira webhooks, HMAC)
    service     an API key
    person      a bearer token (JWT) naming a person
    operator    whoever runs the command on the gateway's host, with its files; a command
                that changes state names who acts (``--actor``, ``--by``, ``--user``) and
                the policy decides that person

``action`` is the policy action deciding the call (``*`` when it is the action the caller
asks about, or the actions of the workflow it starts); ``audit`` the event type written
before the call changes anything (``None`` for reads of data the scope already grants).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.callers.scopes import (
    APPROVALS_WRITE,
    AUDIT_READ,
    CATALOG_RUN,
    CATALOG_USAGE,
    DECISIONS_WRITE,
    EXECUTIONS_READ,
    EXECUTIONS_WRITE,
    KNOWLEDGE_READ,
    METRICS_READ,
    OFFLINE_SYNC,
    STEPUP_WRITE,
    TICKETS_WRITE,
    TROUBLESHOOTING_WRITE,
)

__all__ = ["AUTHORIZATION_TABLE", "CallerKind", "Entry", "commands", "entry_for", "routes"]

CallerKind = Literal["anonymous", "signed", "service", "person", "operator"]

ANYONE: tuple[CallerKind, ...] = ("anonymous",)
SIGNED: tuple[CallerKind, ...] = ("signed",)
BOTH: tuple[CallerKind, ...] = ("service", "person")
PEOPLE: tuple[CallerKind, ...] = ("person",)
OPERATOR: tuple[CallerKind, ...] = ("operator",)


@dataclass(frozen=True, slots=True)
class Entry:
    """One route (``GET /v1/approvals/{approval_id}``) or command (``gateway run``)."""

    name: str
    callers: tuple[CallerKind, ...]
    scope: str | None = None  # the scope the credentials must grant (HTTP)
    action: str | None = None  # the policy action deciding it
    audit: str | None = None  # the audit event written first
    note: str = ""

    @property
    def http(self) -> bool:
        return not self.name.startswith("gateway")

    @property
    def people_only(self) -> bool:
        return self.callers == PEOPLE


def _route(
    name: str,
    callers: tuple[CallerKind, ...],
    scope: str | None,
    action: str | None = None,
    audit: str | None = None,
    note: str = "",
) -> Entry:
    return Entry(name, callers, scope, action, audit, note)


def _command(
    name: str, action: str | None = None, audit: str | None = None, note: str = ""
) -> Entry:
    return Entry(f"gateway {name}".rstrip(), OPERATOR, None, action, audit, note)


AUTHORIZATION_TABLE: tuple[Entry, ...] = (
    # -- health, metrics, documents ------------------------------------------------------
    _route("GET /healthz", ANYONE, None, note="liveness; says nothing about data"),
    _route("GET /readyz", ANYONE, None, note="readiness of the audit log, policies, stores"),
    _route("GET /.well-known/jwks.json", ANYONE, None, note="public keys only"),
    _route("GET /openapi.json", BOTH, None, note="any authenticated caller"),
    _route("OPTIONS /{path:path}", ANYONE, None,
           note="Allow for any served path; tells no more than a 405"),
    _route("GET /metrics", BOTH, METRICS_READ),
    # -- decisions -------------------------------------------------------------------------
    _route("POST /v1/data/gateway/authz", BOTH, DECISIONS_WRITE, "*", "decision",
           "a person asks only about themselves"),
    _route("POST /v1/decisions", BOTH, DECISIONS_WRITE, "*", "decision",
           "a person asks only about themselves"),
    # -- step-up ---------------------------------------------------------------------------
    _route("POST /v1/stepup/verify", PEOPLE, STEPUP_WRITE, None, "stepup.verified",
           "one's own code; a failure is stepup.failed"),
    _route("GET /v1/stepup/status", PEOPLE, STEPUP_WRITE, note="one's own status"),
    # -- approvals -------------------------------------------------------------------------
    _route("GET /v1/approvals", PEOPLE, APPROVALS_WRITE, note="what the caller may vote on"),
    _route("GET /v1/approvals/{approval_id}", PEOPLE, APPROVALS_WRITE, "approval.read",
           "decision", "requester, eligible approvers, auditors; anyone else gets the 404 "
           "of an unknown id"),
    _route("POST /v1/approvals/{approval_id}/approve", PEOPLE, APPROVALS_WRITE,
           "approval.vote", "approval.approved", "approval.voted while short of the quorum"),
    _route("POST /v1/approvals/{approval_id}/reject", PEOPLE, APPROVALS_WRITE,
           "approval.vote", "approval.rejected", "approval.voted while short of the quorum"),
    # -- workflows and executions ----------------------------------------------------------
    _route("GET /v1/workflows", BOTH, EXECUTIONS_WRITE),
    _route("POST /v1/executions", BOTH, EXECUTIONS_WRITE, "*", "execution.started",
           "each privileged step decided; a person acts as themselves"),
    _route("GET /v1/executions", BOTH, EXECUTIONS_READ, note="a person sees their own"),
    _route("GET /v1/executions/{execution_id}", BOTH, EXECUTIONS_READ,
           note="a person sees their own"),
    _route("POST /v1/executions/{execution_id}/cancel", BOTH, EXECUTIONS_WRITE, None,
           "execution.cancel_requested", "a person cancels their own"),
    _route("POST /v1/executions/{execution_id}/secrets/{name}", PEOPLE, EXECUTIONS_WRITE,
           None, "execution.secret_read", "the requester, once"),
    # -- self-service catalog --------------------------------------------------------------
    _route("GET /v1/catalog", BOTH, CATALOG_RUN, "selfservice.view"),
    _route("GET /v1/catalog/items/{item_id}", BOTH, CATALOG_RUN, "selfservice.view"),
    _route("GET /v1/catalog/items/{item_id}/schema", BOTH, CATALOG_RUN, "selfservice.view",
           note="the person's own form (JSON Schema 2020-12)"),
    _route("POST /v1/catalog/items/{item_id}/runs", BOTH, CATALOG_RUN, "selfservice.run",
           "selfservice.run_admitted", "a service names the person it acts for"),
    _route("GET /v1/catalog/runs/{run_id}", BOTH, CATALOG_RUN, note="a person sees their own"),
    _route("POST /v1/catalog/runs/{run_id}/resume", BOTH, CATALOG_RUN, "selfservice.run",
           "selfservice.run_started"),
    _route("POST /v1/catalog/runs/{run_id}/cancel", BOTH, CATALOG_RUN, None,
           "selfservice.cancelled"),
    _route("GET /v1/catalog/usage", BOTH, CATALOG_USAGE),
    # -- chat --------------------------------------------------------------------------------
    _route("POST /v1/chat/slack/interactions", SIGNED, None, "approval.vote",
           "chat.interaction_accepted", "Slack's signature; the mapped person votes or runs "
           "(selfservice.run); refusals are chat.interaction_refused"),
    _route("POST /v1/chat/slack/commands", SIGNED, None, "selfservice.view",
           "chat.interaction_accepted", "Slack's signature; the mapped person's catalog"),
    _route("POST /v1/chat/teams/activities", SIGNED, None, "approval.vote",
           "chat.interaction_accepted", "the Bot Framework's token; the mapped person votes"),
    # -- troubleshooting -------------------------------------------------------------------
    _route("GET /v1/troubleshooting/trees", BOTH, TROUBLESHOOTING_WRITE),
    _route("POST /v1/troubleshooting/sessions", BOTH, TROUBLESHOOTING_WRITE, None,
           "troubleshooting.started", "the caller owns the session"),
    _route("GET /v1/troubleshooting/sessions/{session_id}", BOTH, TROUBLESHOOTING_WRITE,
           "troubleshooting.session.drive", note="the owner, or whom policy allows; "
           "anyone else gets the 404 of an unknown session"),
    _route("POST /v1/troubleshooting/sessions/{session_id}/answer", BOTH,
           TROUBLESHOOTING_WRITE, "troubleshooting.session.drive", "troubleshooting.answered",
           "the owner, or whom policy allows; actions decided as the caller"),
    _route("POST /v1/troubleshooting/sessions/{session_id}/undo", BOTH, TROUBLESHOOTING_WRITE,
           "troubleshooting.session.drive", "troubleshooting.undone"),
    _route("POST /v1/troubleshooting/sessions/{session_id}/resume", BOTH,
           TROUBLESHOOTING_WRITE, "troubleshooting.session.drive",
           "troubleshooting.action_requested", "when the session starts a workflow"),
    _route("GET /v1/troubleshooting/reports/{tree_id}", BOTH, TROUBLESHOOTING_WRITE,
           "troubleshooting.report.read", "decision"),
    # -- tickets ---------------------------------------------------------------------------
    _route("POST /v1/tickets/servicenow", BOTH, TICKETS_WRITE, None, "ticket.routed"),
    _route("POST /v1/tickets/generic", BOTH, TICKETS_WRITE, None, "ticket.routed"),
    _route("POST /v1/tickets/alertmanager", BOTH, TICKETS_WRITE, None, "alert.received",
           "404 when [tickets.alertmanager] is not set; alerts over the intake limits are "
           "dead-lettered"),
    _route("POST /v1/tickets/jira", SIGNED, None, None, "ticket.routed",
           "X-Hub-Signature HMAC; 404 when Jira or its secret is not configured; 429 past "
           "[tickets] unauthenticated_per_minute"),
    # -- knowledge base --------------------------------------------------------------------
    _route("GET /v1/knowledge/search", BOTH, KNOWLEDGE_READ),
    _route("POST /v1/knowledge/suggestions", BOTH, KNOWLEDGE_READ),
    _route("GET /v1/knowledge/articles/{article_id}", BOTH, KNOWLEDGE_READ),
    # -- audit proofs ----------------------------------------------------------------------
    _route("GET /v1/audit/checkpoint", BOTH, AUDIT_READ),
    _route("GET /v1/audit/proofs/inclusion", BOTH, AUDIT_READ),
    _route("GET /v1/audit/proofs/consistency", BOTH, AUDIT_READ),
    # -- field kits ------------------------------------------------------------------------
    _route("POST /v1/offline/segments", BOTH, OFFLINE_SYNC, None, "offline.segment_merged",
           "a segment that does not verify is offline.segment_refused (422), kept aside"),
    # == commands ==========================================================================
    _command("authorize", "*", "decision"),
    _command("demo", None, "decision", "the starter scenarios, decided and audited"),
    _command("serve", note="refuses to run without an audit log"),
    _command("policy check", note="reads the bundle only"),
    _command("policy test", note="reads the bundle only; --junit writes a report file"),
    _command("policy fmt", note="rewrites .cedar files only (a new digest: sign again)"),
    _command("policy sign", None, "policy.signed",
             "the key is the authority: only [policy] trusted_keys signatures count"),
    _command("policy verify", note="reads the bundle's signatures and the trusted keys"),
    _command("policy history", note="reads the audit log"),
    _command("policy impact", note="reads the audit log and a candidate bundle"),
    _command("keys init", note="writes a new key pair; refuses to replace one without --force"),
    _command("keys rotate", None, "audit.key_rotated"),
    _command("audit verify", note="the public key alone"),
    _command("audit checkpoint"),
    _command("audit prove"),
    _command("audit consistency"),
    _command("audit check-consistency"),
    _command("audit record"),
    _command("audit export", note="reads the log, from the file or the shared database"),
    _command("audit show", note="reads the log; opens sealed fields with the data key store"),
    _command("privacy export", "privacy.export", "decision",
             "everything held about a person, sealed fields opened"),
    _command("privacy erase", "privacy.erase", "privacy.erased",
             "shreds the person's data keys, erases their data in the stores and knowledge "
             "base; idempotent; unknown person refused"),
    _command("privacy sweep", "privacy.sweep", "privacy.swept",
             "each retention rule decided first; legal hold refuses the sweep"),
    _command("stepup enrol", "stepup.enrol", "stepup.enrolled",
             "--by names who enrols; replacing a factor is stepup.reset, audited as "
             "stepup.reset, and revokes the step-ups made under the old seed"),
    _command("stepup verify", None, "stepup.verified", "needs the person's own code"),
    _command("stepup status"),
    _command("approvals request", "*", "approval.opened"),
    _command("approvals list"),
    _command("approvals show", note="the operator reads the store"),
    _command("approvals approve", "approval.vote", "approval.approved",
             "approval.voted while short of the quorum"),
    _command("approvals reject", "approval.vote", "approval.rejected",
             "approval.voted while short of the quorum"),
    _command("approvals cancel", None, "approval.cancelled"),
    _command("approvals confirm", "*", "decision"),
    _command("approvals tick", None, "approval.expired"),
    _command("run", "*", "execution.started", "--actor names who acts"),
    _command("executions list"),
    _command("executions show"),
    _command("executions resume", "*", "action.started"),
    _command("executions cancel", None, "execution.cancel_requested"),
    _command("executions tick", "*", "action.started"),
    _command("executions secret", None, "execution.secret_read"),
    _command("callers scopes"),
    _command("callers table"),
    _command("callers api-key create", None, "callers.api_key_created"),
    _command("callers api-key list"),
    _command("callers api-key revoke", None, "callers.api_key_revoked"),
    _command("callers token", None, "callers.token_issued", "refused for inactive people"),
    _command("catalog list", "selfservice.view", note="decided per item; a read"),
    _command("catalog show", "selfservice.view", note="an item one may not see is unknown"),
    _command("catalog run", "selfservice.run", "selfservice.run_admitted"),
    _command("catalog status"),
    _command("catalog resume", "selfservice.run", "selfservice.run_started"),
    _command("catalog cancel", None, "selfservice.cancelled"),
    _command("catalog usage"),
    _command("kb summarize"),
    _command("kb record", "kb.publish", "action.started"),
    _command("kb publish", "kb.publish", "action.started"),
    _command("kb search"),
    _command("kb show"),
    _command("kb reindex"),
    _command("tickets replay", None, "ticket.routed"),
    _command("tickets poll", None, "ticket.routed"),
    _command("tickets route"),
    _command("tickets follow-up", None, "ticket.writeback_queued"),
    _command("tickets dead-letters list"),
    _command("tickets dead-letters replay", None, "ticket.dead_letter_replayed"),
    _command("tree validate"),
    _command("tree paths"),
    _command("tree report"),
    _command("tree start", None, "troubleshooting.started"),
    _command("tree answer", "troubleshooting.session.drive", "troubleshooting.answered"),
    _command("tree show", "troubleshooting.session.drive"),
    _command("tree undo", "troubleshooting.session.drive", "troubleshooting.undone"),
    _command("tree resume", "troubleshooting.session.drive", "troubleshooting.action_requested"),
    _command("tree run", None, "troubleshooting.started"),
    _command("offline prepare", "offline.prepare", "offline.kit_prepared",
             "--by names who prepares; the record enrols the kit's device key"),
    _command("offline revoke", "offline.revoke", "offline.kit_revoked"),
    _command("offline request", "*", "decision",
             "on a field kit (--offline KIT); --queue records offline.action_queued"),
    _command("offline sync", "*", "offline.segment_merged",
             "a refused segment is offline.segment_refused; queued actions decided afresh"),
    _command("offline close-segment", None, "offline.segment_closed",
             "on a field kit: the record ends the segment, signed by the device key"),
)  # fmt: skip


def routes() -> tuple[Entry, ...]:
    """The HTTP entries."""
    return tuple(entry for entry in AUTHORIZATION_TABLE if entry.http)


def commands() -> tuple[Entry, ...]:
    """The command entries."""
    return tuple(entry for entry in AUTHORIZATION_TABLE if not entry.http)


def entry_for(name: str) -> Entry:
    """The entry named ``name``; ``KeyError`` when the table has none (a bug)."""
    for entry in AUTHORIZATION_TABLE:
        if entry.name == name:
            return entry
    raise KeyError(name)
