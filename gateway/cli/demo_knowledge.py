"""The knowledge scenario of ``gateway demo``: a hard ticket becomes a good article.

Tom cannot open an encrypted archive from Finance.  Elena troubleshoots: the file share
answers, but the archive tool is missing.  Her first remediation (installing ``7-zip``)
is refused: no such title in the catalog.  She escalates to the desktop team, who name
the catalog title, and the install of ``7zip`` fixes it.  The gateway documents the
session from the audit and execution trail (redacting Tom's e-mail and phone number),
writes the article, makes a second, similar ticket a new version of the same article
instead of a near-duplicate, suggests the article for a third ticket, and publishes it
through the guarded runtime.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from gateway.app import Gateway, open_knowledge
from gateway.app.audit import audit_log_file
from gateway.config import GatewayConfig
from gateway.knowledge.audit_trail import read_audit
from gateway.knowledge.base import ArticleChange, KnowledgeBase, Suggestion
from gateway.knowledge.collect import collect_session
from gateway.knowledge.session import SessionDiagnostic, SessionNode, SessionOutcome, SessionTrail
from gateway.knowledge.summary import Audience
from gateway.runtime.errors import ExecutionError
from gateway.runtime.executor import Executor
from gateway.runtime.model import Execution

__all__ = ["KnowledgeScenario", "archive_session", "run_knowledge_scenario"]

DEMO_CHANNEL = "demo"


@dataclass(frozen=True)
class KnowledgeScenario:
    """What the scenario produced, for whoever runs it."""

    technician_summary: str
    user_summary: str
    first: ArticleChange
    second: ArticleChange
    suggestions: list[Suggestion]
    published: Execution | None


def _say(text: str) -> None:
    click.echo(f"  > {text}")


def archive_session(
    session_id: str, ticket: str, user: str, failed: Execution, fixed: Execution
) -> SessionTrail:
    """The troubleshooting session of the scenario, as guided troubleshooting hands it over."""
    at = failed.as_json()["created_at"]
    end = fixed.as_json()["finished_at"]
    return SessionTrail(
        id=session_id,
        tree="archive-access",
        title="Cannot open an encrypted archive",
        technician="elena",
        ticket=ticket,
        problem=(
            f"{user} cannot open the encrypted archive Finance sent. "
            f"Reach {user} at {user}@example.com or +49 30 1234 5678.\n\n"
            "Error: <b>the archive format is not supported</b>"
        ),
        symptoms=[
            "encrypted archive does not open",
            "archive format is not supported error",
            "double-clicking the zip file does nothing",
        ],
        path=[
            SessionNode(
                node="which-file",
                kind="question",
                text="Which file fails to open?",
                answer="an encrypted .7z archive",
                at=at,
            ),
            SessionNode(
                node="share-reachable", kind="diagnostic", text="Is the file share reachable?"
            ),
            SessionNode(node="install-tool", kind="action", execution=failed.id, at=at),
            SessionNode(
                node="desktop-team",
                kind="escalation",
                text="Ask the desktop team for the catalog title",
                answer="the catalog title is 7zip",
                at=at,
            ),
            SessionNode(node="install-catalog-tool", kind="action", execution=fixed.id, at=end),
            SessionNode(node="done", kind="outcome", at=end),
        ],
        diagnostics=[
            SessionDiagnostic(
                name="file share reachable",
                target="files.example.com:445",
                result="passed",
                detail="connected",
                duration_ms=42,
                at=at,
            ),
            SessionDiagnostic(
                name="archive tool installed",
                target=f"{user}-laptop",
                result="failed",
                detail="no archive tool on the device",
                duration_ms=15,
                at=at,
            ),
        ],
        executions=[failed.id, fixed.id],
        outcome=SessionOutcome(
            result="resolved",
            summary="the catalog archive tool opens encrypted archives",
            node="done",
            follow_ups=["Add 7zip to the standard laptop image"],
        ),
        started_at=at,
        finished_at=end,
    )


def _install(executor: Executor, title: str, device: str, ticket: str) -> Execution:
    started = executor.start(
        "software-install",
        {"title": title, "device": device},
        actor="elena",
        channel=DEMO_CHANNEL,
        ticket=ticket,
    )
    return executor.advance(started.id)


def _document(
    base: KnowledgeBase, config: GatewayConfig, executor: Executor, ticket: str, user: str
) -> tuple[str, str, ArticleChange]:
    failed = _install(executor, "7-zip", f"{user}-laptop", ticket)
    _say(f"remediation: install 7-zip on {user}-laptop: {failed.status}")
    fixed = _install(executor, "7zip", f"{user}-laptop", ticket)
    _say(f"after escalating to the desktop team: install 7zip: {fixed.status}")
    session = archive_session(f"session-{ticket.lower()}", ticket, user, failed, fixed)
    records = {e.id: e.as_json() for e in (failed, fixed)}
    with audit_log_file(config) as log:  # an export when the log is in PostgreSQL
        audit = read_audit(log, config.privacy.key_store, config.storage)
    trail = collect_session(session, records, audit)
    technician = base.summarize(trail, Audience.TECHNICIAN)
    user_summary = base.summarize(trail, Audience.USER)
    return technician, user_summary, base.record(trail)


def run_knowledge_scenario(
    config: GatewayConfig, gateway: Gateway, executor: Executor
) -> KnowledgeScenario:
    """Run the scenario on the configured gateway, printing what happens."""
    click.echo("Knowledge base: a multi-step resolution becomes an article")
    base = open_knowledge(config.knowledge)
    try:
        technician, user_summary, first = _document(base, config, executor, "T-2001", "tom")
        _say(f"documented: {first.change} article {first.article.id} v{first.article.version}")
        click.echo("")
        click.echo(user_summary)
        _, _, second = _document(base, config, executor, "T-2002", "priya")
        _say(
            f"a similar ticket: {second.change} article {second.article.id} "
            f"v{second.article.version} (not a near-duplicate)"
        )
        suggestions = base.suggest("Zip archive from Finance will not open, format not supported")
        for suggestion in suggestions:
            _say(f"suggested for a new ticket: {suggestion.article} ({suggestion.title})")
    finally:
        base.close()
    published: Execution | None = None
    try:
        started = executor.start(
            "kb-publish",
            {"article": second.article.id},
            actor="elena",
            channel=DEMO_CHANNEL,
        )
        published = executor.advance(started.id)
        _say(f"publish through the guarded runtime: {published.status}")
    except ExecutionError as exc:
        _say(f"publishing is not available here: {exc}")
    return KnowledgeScenario(technician, user_summary, first, second, suggestions, published)
