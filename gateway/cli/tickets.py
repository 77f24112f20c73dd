"""``gateway tickets``: replay ticket files, poll the help desks, see how a ticket would be
routed, follow up on started automations, and look after dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.app import open_services
from gateway.cli.output import emit, json_option
from gateway.config import GatewayConfig
from gateway.errors import ExitCode
from gateway.tickets import IntakeResult, Outcome, TicketEventError, TicketService
from gateway.tickets.payloads import decode_json, generic_event, jira_event, servicenow_event
from gateway.tickets.results import PollReport
from gateway.tickets.routing import RoutingDecision

if TYPE_CHECKING:
    from gateway.tickets.store import DeadLetter

__all__ = ["tickets"]


@contextmanager
def ticket_service(config: GatewayConfig) -> Iterator[TicketService]:
    """The ticket service over a gateway and runtime, all closed after."""
    with open_services(config) as parts:
        yield parts.tickets


def _print_result(result: IntakeResult) -> None:
    where = result.ticket or (
        "event" if result.dead_letter is None else f"dead letter {result.dead_letter}"
    )
    line = "" if result.line is None else f"line {result.line}: "
    click.echo(f"{line}{str(result.outcome).upper():<16} {where}: {result.message}")
    if result.execution is not None:
        click.echo(f"                 execution {result.execution.id}: {result.execution.status}")


def _counts(results: list[IntakeResult]) -> str:
    counts: dict[str, int] = {}
    for result in results:
        counts[str(result.outcome)] = counts.get(str(result.outcome), 0) + 1
    return ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))


def _print_results(results: list[IntakeResult]) -> None:
    for result in results:
        _print_result(result)
    click.echo(_counts(results) or "nothing")


_PROBLEMS = (Outcome.DEAD_LETTER, Outcome.NOT_TAKEN)


def _print_replay(results: list[IntakeResult], lines: int) -> None:
    for result in results:
        _print_result(result)
    bad = [str(result.line) for result in results if result.outcome in _PROBLEMS]
    summary = f"{len(results)} events from {lines} lines: {_counts(results) or 'nothing'}"
    click.echo(summary + (f"; problems on lines {', '.join(bad)}" if bad else ""))


@click.group()
def tickets() -> None:
    """Ticket intake, routing and write-back (docs/tickets.md)."""


@tickets.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def replay(config: GatewayConfig, file: Path, as_json: bool) -> None:
    """Feed FILE (JSON Lines, one event a line) to the intake, as if delivered.

    Every line is reported with its number, and the replay never stops: a bad line goes to
    the dead-letter store, a line that meets an outage is not taken (replay the file again
    later).  Exit code 0; 1 when a line was dead-lettered; 5 when a line was not taken."""
    lines = file.read_bytes().splitlines()
    with ticket_service(config) as service:
        results = service.replay_lines(lines)
        service.follow_up()
        service.flush_outbox()
    emit(results, as_json, human=lambda found: _print_replay(found, len(lines)))
    outcomes = {result.outcome for result in results}
    if Outcome.NOT_TAKEN in outcomes:
        raise SystemExit(int(ExitCode.UNAVAILABLE))
    if Outcome.DEAD_LETTER in outcomes:
        raise SystemExit(int(ExitCode.FAILED))


@tickets.command()
@json_option
@click.pass_obj
def poll(config: GatewayConfig, as_json: bool) -> None:
    """One polling round of the configured help desks (ServiceNow, Jira), then write back.

    Exit code 5 when a help desk could not be reached (its watermark stays put)."""
    with ticket_service(config) as service:
        report = service.poll()
        service.follow_up()
        service.flush_outbox()
    emit(report, as_json, human=_print_poll)
    if report.errors:
        raise SystemExit(int(ExitCode.UNAVAILABLE))


def _print_poll(report: PollReport) -> None:
    _print_results(report.results)
    for name, error in sorted(report.errors.items()):
        click.echo(f"{name}: {error}", err=True)


@tickets.command("follow-up")
@json_option
@click.pass_obj
def follow_up(config: GatewayConfig, as_json: bool) -> None:
    """Write back what changed in started automations and deliver the outbox."""
    with ticket_service(config) as service:
        changed = service.follow_up()
        flushed = service.flush_outbox()
    line = (
        f"{changed} automations changed; write-backs: {flushed.delivered} delivered, "
        f"{flushed.waiting} waiting, {flushed.failed} failed"
    )
    emit({"changed": changed, "write_backs": flushed}, as_json, human=lambda _: click.echo(line))


def _print_decision(decision: RoutingDecision) -> None:
    if decision.workflow is not None:
        params = " ".join(f"{k}={v}" for k, v in sorted(decision.parameters.items()))
        click.echo(f"WORKFLOW  {decision.workflow} {params}  as {decision.actor}")
    else:
        click.echo(f"PEOPLE    queue {decision.queue}")
    click.echo(f"  trigger: {decision.trigger or '-'}  route: {decision.route or '-'}  "
               f"confidence: {decision.confidence:.2f}")  # fmt: skip
    click.echo(f"  note: {decision.note}")
    for line in decision.explanation:
        click.echo(f"  - {line}")


@tickets.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--source",
    type=click.Choice(["generic", "servicenow", "jira"]),
    default="generic",
    help="The shape of FILE (default: a generic event).",
)
@json_option
@click.pass_obj
def route(config: GatewayConfig, file: Path, source: str, as_json: bool) -> None:
    """Dry run: how the ticket in FILE would be classified and routed, and why.

    Nothing is started, recorded or written back."""
    try:
        payload = decode_json(file.read_bytes(), None, config.tickets.max_event_bytes)
        if source == "servicenow":
            event = servicenow_event(payload, "replay")
        elif source == "jira":
            event = jira_event(payload, None, "replay")
        else:
            event = generic_event(payload, "replay")
    except TicketEventError as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    with ticket_service(config) as service:
        decision = service.router.route(event.ticket)
    emit(decision, as_json, human=_print_decision)


@tickets.group("dead-letters")
def dead_letters() -> None:
    """Events that could not be used: why, and replay after a fix."""


@dead_letters.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also the ones already replayed.")
@json_option
@click.pass_obj
def list_letters(config: GatewayConfig, show_all: bool, as_json: bool) -> None:
    """The dead letters (open ones unless --all), oldest first."""
    from gateway.storage import open_backend
    from gateway.tickets.store import TicketStore

    storage = open_backend(config.storage)
    store = TicketStore(config.tickets.database, backend=storage)
    try:
        with store.transaction(write=False) as tx:
            letters = tx.dead_letters(state=None if show_all else "open", limit=1000)
    finally:
        store.close()
        storage.close()
    emit(letters, as_json, human=_print_letters)


def _print_letters(letters: list[DeadLetter]) -> None:
    for letter in letters:
        click.echo(
            f"{letter.id:>5}  {letter.state:<8} {letter.received_at}  {letter.source}/"
            f"{letter.channel}  {letter.size} bytes  {letter.reason}"
        )
    click.echo(f"{len(letters)} dead letters")


@dead_letters.command("replay")
@click.argument("letter_id", type=int)
@json_option
@click.pass_obj
def replay_letter(config: GatewayConfig, letter_id: int, as_json: bool) -> None:
    """Read dead letter LETTER_ID again (after a fix).  Exit code 1 when it still fails."""
    with ticket_service(config) as service:
        result = service.replay_dead_letter(letter_id)
        service.flush_outbox()
    emit([result], as_json, human=_print_results)
    if result.outcome is Outcome.DEAD_LETTER:
        raise SystemExit(int(ExitCode.FAILED))
