"""``gateway run`` and ``gateway executions``: start workflows and follow what they do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from gateway.app import open_services
from gateway.cli.output import emit, json_option
from gateway.cli.pairs import KeyValue
from gateway.config import GatewayConfig
from gateway.errors import ExitCode
from gateway.runtime.executor import Executor
from gateway.runtime.model import Execution, ExecutionState

__all__ = ["executions", "print_execution", "run"]

_EXIT = {
    ExecutionState.SUCCEEDED: ExitCode.OK,
    ExecutionState.PENDING_APPROVAL: ExitCode.WAITING,
    ExecutionState.AWAITING_STEP_UP: ExitCode.WAITING,
    ExecutionState.WAITING_FOR_TARGET: ExitCode.UNAVAILABLE,
    ExecutionState.QUEUED: ExitCode.WAITING,
    ExecutionState.RUNNING: ExitCode.WAITING,
}


def exit_code(execution: Execution) -> ExitCode:
    """0 done, 6 waiting (approval, step-up), 5 a system is down, 3 refused by policy,
    1 failed (rolled back or not), cancelled."""
    if execution.state in _EXIT:
        return _EXIT[execution.state]
    if any(
        step.error and step.error.startswith(f"step {step.step_id} refused: ")
        for step in execution.steps
    ):
        return ExitCode.DENIED
    return ExitCode.FAILED


@contextmanager
def runtime(config: GatewayConfig) -> Iterator[Executor]:
    """The runtime for one command, closed with the gateway under it."""
    with open_services(config) as parts:
        yield parts.runtime


_COLOURS = {"succeeded": "green", "failed": "red", "compensated": "yellow", "cancelled": "yellow"}


def print_execution(execution: Execution) -> None:
    state = click.style(
        str(execution.state).upper(), fg=_COLOURS.get(execution.state, "cyan"), bold=True
    )
    click.echo(f"{state}  {execution.workflow} {execution.id}  by {execution.actor}")
    click.echo(f"  status: {execution.status}")
    for step in execution.steps:
        line = f"  {step.state:<11} {step.step_id}"
        if step.decision_id:
            line += f"  decision {step.decision_id}"
        if step.sealed:
            line += f"  sealed for {execution.actor}: {', '.join(step.sealed)}"
        click.echo(line)
        if step.error:
            click.echo(f"              {step.error}")
    waiting = execution.waiting or {}
    if waiting.get("kind") == "step_up":
        click.echo(
            f"  next: {execution.actor} steps up with: gateway stepup verify --user "
            f"{execution.actor} --bound-to {waiting['digest']}; then: gateway executions "
            f"resume {execution.id}"
        )
    elif waiting.get("kind") == "approval":
        click.echo(
            f"  next: an approver runs: gateway approvals approve {waiting['approval_id']} "
            f"--approver NAME --digest {waiting['digest']}"
        )


def resume_waiting(config: GatewayConfig, approval_id: str, *, quiet: bool = False) -> None:
    """The approval decided: the execution waiting on it goes on at once (it runs, or it
    fails if the approval was rejected or no longer suffices)."""
    with runtime(config) as executor:
        execution_id = executor.execution_for_approval(approval_id)
        if execution_id is None:
            return
        execution = executor.advance(execution_id)
    if not quiet:
        click.echo(f"execution {execution.id} ({execution.workflow}): {execution.status}")


@click.command()
@click.argument("workflow")
@click.option(
    "--param",
    "-p",
    "pairs",
    multiple=True,
    type=KeyValue(),
    help="A workflow parameter (repeatable).",
)
@click.option("--actor", required=True, help="Who asks (a directory user id).")
@click.option("--ticket", default=None, help="The help desk ticket this serves.")
@click.option(
    "--change",
    "change_request",
    default=None,
    metavar="NUMBER",
    help="The change request it acts under (e.g. CHG0030001), checked by the gateway.",
)
@click.option(
    "--idempotency-key",
    default=None,
    help="Run at most once per key: the same key and request give the same execution.",
)
@json_option
@click.pass_obj
def run(
    config: GatewayConfig,
    workflow: str,
    pairs: tuple[tuple[str, str], ...],
    actor: str,
    ticket: str | None,
    change_request: str | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Start WORKFLOW and run it until it finishes or waits.

    Exit codes: 0 succeeded, 6 waiting for an approval or a step-up (resume with
    ``gateway executions resume``), 5 a system is down (it is retried), 3 refused by policy,
    1 failed or rolled back, 4 invalid parameters or workflow."""
    with runtime(config) as executor:
        started = executor.start(
            workflow,
            dict(pairs),
            actor=actor,
            channel="cli",
            ticket=ticket,
            idempotency_key=idempotency_key,
            change_request=change_request,
        )
        execution = executor.advance(started.id)
    emit(execution, as_json, human=print_execution)
    raise click.exceptions.Exit(int(exit_code(execution)))


@click.group()
def executions() -> None:
    """Follow, resume and cancel workflow executions."""


@executions.command("list")
@click.option("--actor", default=None, help="Only this person's executions.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@json_option
@click.pass_obj
def list_executions(config: GatewayConfig, actor: str | None, limit: int, as_json: bool) -> None:
    """The latest executions, newest first."""
    with runtime(config) as executor:
        found = executor.recent(actor=actor, limit=limit)
    emit(found, as_json, human=_print_list)


def _print_list(found: list[Execution]) -> None:
    for execution in found:
        click.echo(
            f"{execution.id}  {execution.state:<18} {execution.workflow:<18} "
            f"{execution.actor:<12} {execution.status}"
        )


@executions.command()
@click.argument("execution_id")
@json_option
@click.pass_obj
def show(config: GatewayConfig, execution_id: str, as_json: bool) -> None:
    """One execution, step by step."""
    with runtime(config) as executor:
        emit(executor.get(execution_id), as_json, human=print_execution)


@executions.command()
@click.argument("execution_id")
@json_option
@click.pass_obj
def resume(config: GatewayConfig, execution_id: str, as_json: bool) -> None:
    """Go on with a waiting execution now (after a step-up or an approval). Same exit
    codes as ``gateway run``."""
    with runtime(config) as executor:
        execution = executor.advance(execution_id)
    emit(execution, as_json, human=print_execution)
    raise click.exceptions.Exit(int(exit_code(execution)))


@executions.command()
@click.argument("execution_id")
@click.option("--by", required=True, help="Who cancels.")
@json_option
@click.pass_obj
def cancel(config: GatewayConfig, execution_id: str, by: str, as_json: bool) -> None:
    """Cancel an unfinished execution; what it already did is undone."""
    with runtime(config) as executor:
        execution = executor.cancel(execution_id, by)
    emit(execution, as_json, human=print_execution)


@executions.command()
@json_option
@click.pass_obj
def tick(config: GatewayConfig, as_json: bool) -> None:
    """Resume everything that can go on (approved, stepped up, systems back, timers due,
    interrupted steps); ``gateway serve`` does this on its own."""
    with runtime(config) as executor:
        count = executor.tick()
    emit({"advanced": count}, as_json, human=lambda _: click.echo(f"{count} executions looked at"))


@executions.command()
@click.argument("execution_id")
@click.argument("name")
@click.option("--actor", required=True, help="Who reads it: only the execution's actor may.")
@json_option
@click.pass_obj
def secret(config: GatewayConfig, execution_id: str, name: str, actor: str, as_json: bool) -> None:
    """Print a secret output (a temporary password) once; it is deleted as it is read.
    Exit 3 for anyone but the execution's actor."""
    with runtime(config) as executor:
        value = executor.reveal(execution_id, name, actor)
    shown = {"execution": execution_id, "name": name, "value": value}
    emit(shown, as_json, human=lambda _: click.echo(value))
