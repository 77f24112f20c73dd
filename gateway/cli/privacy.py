"""``gateway privacy``: subject access (export), erasure and retention sweeps
(``docs/privacy.md``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from gateway.app.services import Services, retention_sweeper
from gateway.cli.output import emit, json_option
from gateway.config import GatewayConfig
from gateway.errors import ConfigError
from gateway.notify.outbox import Outbox
from gateway.privacy.rights import SubjectRights
from gateway.privacy.sources import KnowledgeArticles, Person, PersonalDataSource, RecordsOf

__all__ = ["privacy"]

_MANY = 100_000  # items listed per store for one person


@click.group()
def privacy() -> None:
    """Export or erase what the gateway holds about a person; shred what aged out."""


def _sources(services: Services) -> list[PersonalDataSource]:
    config = services.config
    gateway = services.gateway
    outbox_path = config.notifications.outbox

    def runs(person: Person) -> Iterator[dict[str, Any]]:
        with services.selfservice.store.transaction(write=False) as tx:
            yield from (run.as_json() for run in tx.recent(person.login, _MANY))

    def erase_runs(person: Person, dry_run: bool) -> int:
        with services.selfservice.store.transaction(write=not dry_run) as tx:
            return tx.erase_person(person.login, dry_run=dry_run)

    def tickets(person: Person) -> list[dict[str, Any]]:
        with services.tickets.store.transaction(write=False) as tx:
            return tx.reported_by(person.login)

    def erase_tickets(person: Person, dry_run: bool) -> int:
        with services.tickets.store.transaction(write=not dry_run) as tx:
            return tx.erase_reporter(person.login, dry_run=dry_run)

    def sessions(person: Person) -> Iterator[dict[str, Any]]:
        for session in services.troubleshooting.store.recent(limit=_MANY):
            if person.login in (session.technician, session.facts.get("user")):
                yield session.as_json()

    def erase_sessions(person: Person, dry_run: bool) -> int:
        return services.troubleshooting.store.erase_user(person.login, dry_run=dry_run)

    def approvals(person: Person) -> Iterator[dict[str, Any]]:
        if gateway.approvals is None:
            return
        with gateway.approvals.store.transaction(write=False) as tx:
            for item in tx.about(person.login):
                yield {
                    "id": item.id,
                    "state": str(item.state),
                    "requester": item.requester,
                    "actor": item.request.actor,
                    "target": item.target,
                    "action": item.request.action,
                    "resource": str(item.request.resource),
                    "context": item.request.context,
                    "created_at": item.created_at.isoformat(),
                }

    def erase_approvals(person: Person, dry_run: bool) -> int:
        if gateway.approvals is None:
            return 0
        with gateway.approvals.store.transaction(write=not dry_run) as tx:
            return tx.erase_about(person.login, dry_run=dry_run)

    # Approval records kept for legal reasons in the log keep their text in the store too.
    keep_approvals = any(kind.startswith("approval.") for kind in config.privacy.keep_on_erasure)

    def outbox() -> Outbox | None:
        """The process's outbox, unless it would be a new, empty SQLite file."""
        if gateway.storage.name == "sqlite" and not outbox_path.exists():
            return None
        return services.notifier.outbox

    def notifications(person: Person) -> Iterator[dict[str, Any]]:
        found = outbox()
        if found is None:
            return
        wanted = {item.casefold() for item in person.identifiers}
        for item in [*found.pending(), *found.dead_letters()]:
            if not wanted.isdisjoint(r.casefold() for r in item.notification.recipients):
                yield {**item.notification.model_dump(mode="json"), "attempts": item.attempts}

    def erase_notifications(person: Person, dry_run: bool) -> int:
        found = outbox()
        if found is None:
            return 0
        return found.erase_recipient(person.identifiers, dry_run=dry_run)

    return [
        RecordsOf("approvals", approvals, None if keep_approvals else erase_approvals),
        RecordsOf("selfservice_runs", runs, erase_runs),
        RecordsOf("troubleshooting_sessions", sessions, erase_sessions),
        RecordsOf("tickets", tickets, erase_tickets),
        RecordsOf("notifications", notifications, erase_notifications),
        KnowledgeArticles(config.knowledge.articles, lambda: services.knowledge.reindex()),
    ]


@contextmanager
def _rights(config: GatewayConfig) -> Iterator[SubjectRights]:
    services = Services(config)
    keys = services.data_keys()
    try:
        audit = services.gateway.audit
        if audit is None:
            raise ConfigError("privacy requests need the audit log ([audit] unsafe_no_audit)")
        yield SubjectRights(
            services.gateway,
            services.gateway.directory,
            audit.append,
            audit,
            keys,
            _sources(services),
            frozenset(config.privacy.keep_on_erasure),
        )
    finally:
        keys.close()
        services.close()


_PERSON = click.option("--person", required=True, help="The person's directory login.")
_BY = click.option("--by", required=True, help="Who asks (decided by policy, audited).")


@privacy.command()
@_PERSON
@_BY
@json_option
@click.pass_obj
def export(config: GatewayConfig, person: str, by: str, as_json: bool) -> None:
    """Everything held about PERSON: audit records (sealed fields opened), approvals,
    self-service runs, troubleshooting sessions, tickets reported, knowledge base lines."""
    with _rights(config) as rights:
        result = rights.export(person, by=by)
    emit(result, as_json, human=_describe_export)


def _describe_export(result: dict[str, Any]) -> None:
    click.echo(f"person {result['person']}")
    if result["directory"] is not None:
        click.echo(f"  directory: {result['directory']}")
    click.echo(f"  audit records: {len(result['audit_records'])}")
    for record in result["audit_records"]:
        sealed = ", ".join(f"{name} {state}" for name, state in record["sealed"].items())
        click.echo(f"    #{record['seq']} {record['type']}" + (f" ({sealed})" if sealed else ""))
    for name, items in result["sources"].items():
        click.echo(f"  {name}: {len(items)}")


@privacy.command()
@_PERSON
@_BY
@json_option
@click.pass_obj
def erase(config: GatewayConfig, person: str, by: str, as_json: bool) -> None:
    """Erase PERSON's personal data: their data keys (sealed audit fields become
    unreadable; the log still verifies), their personal data in the stores and in the
    knowledge base (docs/privacy.md). Decided by policy (privacy.erase) and recorded
    first (privacy.erased). Erasing again is allowed."""
    with _rights(config) as rights:
        erasure = rights.erase(person, by=by)
    result = erasure.as_json()

    def human(_: object) -> None:
        again = " (already erased before)" if erasure.again else ""
        click.echo(f"erased {person}{again}: {erasure.data_keys} data keys shredded")
        for name, count in erasure.sources.items():
            click.echo(f"  {name}: {count} changed")
        if erasure.kept_types:
            click.echo(f"  kept for legal reasons: {', '.join(erasure.kept_types)}")

    emit(result, as_json, human=human)


@privacy.command()
@click.option("--by", default=None, help="Who sweeps (default: [runtime] system_actor).")
@json_option
@click.pass_obj
def sweep(config: GatewayConfig, by: str | None, as_json: bool) -> None:
    """Shred the data keys of records older than [privacy] retention allows, each rule
    decided first (privacy.sweep); a rule over records under legal hold refuses the
    sweep. The server's worker does the same every hour."""
    services = Services(config)
    keys = services.data_keys()
    try:
        sweeper = retention_sweeper(config, services.gateway, keys, by)
        swept = sweeper.sweep()
    finally:
        keys.close()
        services.close()
    result = [item.as_json() for item in swept]

    def human(_: object) -> None:
        if not swept:
            click.echo("no retention configured ([privacy] retention)")
        for item in swept:
            click.echo(
                f"{item.event_type}: {item.data_keys} data keys shredded "
                f"(months before {item.before_period}, {item.retention_days} days)"
            )

    emit(result, as_json, human=human)
