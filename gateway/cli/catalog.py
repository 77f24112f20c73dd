"""``gateway catalog``: browse, dry-run and run self-service items; follow runs; usage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import click

from gateway.app import open_services
from gateway.cli.output import emit, json_option
from gateway.cli.pairs import KeyValue
from gateway.config import GatewayConfig
from gateway.errors import ExitCode
from gateway.selfservice import SelfService, prometheus_text
from gateway.selfservice.analytics import UsageReport
from gateway.selfservice.model import DryRunPlan, Run, RunState

__all__ = ["catalog"]

_EXIT = {
    RunState.SUCCEEDED: ExitCode.OK,
    RunState.PENDING_APPROVAL: ExitCode.WAITING,
    RunState.AWAITING_STEP_UP: ExitCode.WAITING,
    RunState.RUNNING: ExitCode.WAITING,
    RunState.ADMITTED: ExitCode.WAITING,
    RunState.REFUSED: ExitCode.DENIED,
}


@contextmanager
def selfservice(config: GatewayConfig) -> Iterator[SelfService]:
    """The gateway, its runtime and the catalog over them, closed in reverse order."""
    with open_services(config) as parts:
        yield parts.selfservice


def print_run(run: Run) -> None:
    colour = {"succeeded": "green", "failed": "red", "refused": "red"}.get(run.state, "cyan")
    state = click.style(str(run.state).upper(), fg=colour, bold=True)
    click.echo(f"{state}  {run.item} run {run.id}  by {run.actor}")
    click.echo(f"  status: {run.status or run.state}")
    if run.executions:
        click.echo(f"  executions: {', '.join(run.executions)}")
    waiting = run.waiting or {}
    if waiting.get("kind") == "approval":
        click.echo(
            f"  next: an approver runs: gateway approvals approve {waiting['approval_id']} "
            f"--approver NAME --digest {waiting['digest']}; then: gateway catalog resume {run.id}"
        )
    elif waiting.get("kind") == "step_up":
        click.echo(
            f"  next: {run.actor} steps up with: gateway stepup verify --user {run.actor} "
            f"--bound-to {waiting['digest']}; then: gateway catalog resume {run.id}"
        )


def _print_plan(plan: DryRunPlan) -> None:
    verdict = "would run" if plan.as_json()["would_run"] else "would be refused"
    click.echo(f"DRY RUN  {plan.item} for {plan.actor}: {verdict}; nothing was executed")
    if plan.needs_approval:
        click.echo("  an approval would be needed first")
    for reason in plan.reasons:
        click.echo(f"  policy: {reason}")
    for line in plan.guardrails:
        click.echo(f"  guardrail: {line}")
    if plan.refusal is not None:
        click.echo(f"  refusal: {plan.refusal.reason}: {plan.refusal.message}")
    for planned in plan.executions:
        click.echo(f"  would start {planned['workflow']} with {json.dumps(planned['parameters'])}")


def _exit(run: Run) -> None:
    raise click.exceptions.Exit(int(_EXIT.get(run.state, ExitCode.FAILED)))


@click.group()
def catalog() -> None:
    """The self-service catalog: pre-approved automations people run themselves."""


@catalog.command("list")
@click.option("--actor", required=True, help="Who browses (a directory user id).")
@click.option("--search", "query", default="", help="Words that must all occur.")
@click.option("--category", default=None, help="Only this category.")
@json_option
@click.pass_obj
def list_items(
    config: GatewayConfig, actor: str, query: str, category: str | None, as_json: bool
) -> None:
    """The items ACTOR may see (the policy decides), in id order."""
    with selfservice(config) as service:
        items = service.browser.browse(actor, query, category)

    def human(_: object) -> None:
        for item in items:
            d = item.definition
            click.echo(f"{d.id:<26} {d.category:<10} {d.title}  (~{d.minutes_saved} min saved)")

    emit([item.summary() for item in items], as_json, human=human)


@catalog.command()
@click.argument("item_id")
@click.option("--actor", required=True, help="Who looks (a directory user id).")
@json_option
@click.pass_obj
def show(config: GatewayConfig, item_id: str, actor: str, as_json: bool) -> None:
    """One item: what it does, its parameters and the values offered to ACTOR."""
    with selfservice(config) as service:
        item = service.browser.show(actor, item_id)
        choices = service.browser.choices(actor, item)
    d = item.definition
    parameters = {
        name: {
            **p.model_dump(mode="json", exclude_defaults=True),
            "required": p.is_required,
            **({"choices": choices[name]} if name in choices else {}),
        }
        for name, p in d.parameters.items()
    }
    body = {
        **item.summary(),
        "workflow": d.workflow,
        "parameters": parameters,
        "guardrails": d.guardrails.model_dump(mode="json", exclude_defaults=True),
    }

    def human(_: object) -> None:
        click.echo(f"{d.title} ({d.id}, version {d.version}, owned by {d.owner})")
        click.echo(f"  {d.description}")
        click.echo(f"  runs workflow {d.workflow}; saves about {d.minutes_saved} minutes")
        for name, described in parameters.items():
            click.echo(f"  --param {name}=...  {json.dumps(described)}")

    emit(body, as_json, human=human)


@catalog.command("run")
@click.argument("item_id")
@click.option("--actor", required=True, help="Who runs it (a directory user id).")
@click.option(
    "--param", "-p", "pairs", multiple=True, type=KeyValue(), help="A parameter (repeatable)."
)
@click.option("--dry-run", is_flag=True, help="Show what would happen; execute nothing.")
@click.option("--ticket", default=None, help="The help desk ticket this serves.")
@click.option("--idempotency-key", default=None, help="The same key and request: the same run.")
@json_option
@click.pass_obj
def run_item(
    config: GatewayConfig,
    item_id: str,
    actor: str,
    pairs: tuple[tuple[str, str], ...],
    dry_run: bool,
    ticket: str | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Run ITEM_ID as ACTOR within its guardrails.

    Exit codes: 0 succeeded (or a dry run that would run), 6 waiting (approval, step-up),
    3 refused (guardrail or policy; the reason is printed), 4 invalid parameters or
    unknown item, 1 failed."""
    with selfservice(config) as service:
        if dry_run:
            plan = service.dry_run(actor, item_id, dict(pairs))
            emit(plan, as_json, human=_print_plan)
            would = plan.as_json()["would_run"]
            raise click.exceptions.Exit(int(ExitCode.OK if would else ExitCode.DENIED))
        done = service.run(
            actor, item_id, dict(pairs), ticket=ticket, idempotency_key=idempotency_key
        )
    emit(done, as_json, human=print_run)
    _exit(done)


@catalog.command()
@click.argument("run_id")
@json_option
@click.pass_obj
def status(config: GatewayConfig, run_id: str, as_json: bool) -> None:
    """Where a run stands."""
    with selfservice(config) as service:
        found = service.get(run_id)
    emit(found, as_json, human=print_run)


@catalog.command()
@click.argument("run_id")
@json_option
@click.pass_obj
def resume(config: GatewayConfig, run_id: str, as_json: bool) -> None:
    """Go on after an approval or a step-up (same exit codes as ``run``)."""
    with selfservice(config) as service:
        found = service.resume(run_id)
    emit(found, as_json, human=print_run)
    _exit(found)


@catalog.command()
@click.argument("run_id")
@click.option("--by", "by", required=True, help="Who cancels (the run's requester).")
@json_option
@click.pass_obj
def cancel(config: GatewayConfig, run_id: str, by: str, as_json: bool) -> None:
    """Cancel an unfinished run; what it did is undone."""
    with selfservice(config) as service:
        found = service.cancel(run_id, by)
    emit(found, as_json, human=print_run)


@catalog.command()
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per item and department.")
@json_option
@click.option("--prometheus", is_flag=True, help="Prometheus metrics text.")
@click.pass_obj
def usage(config: GatewayConfig, as_csv: bool, as_json: bool, prometheus: bool) -> None:
    """What was run, refused (by reason) and saved, per item and department (--json:
    totals, per item, per department)."""
    with selfservice(config) as service:
        report = service.usage()
    if as_csv:
        click.echo(report.to_csv(), nl=False)
    elif prometheus and not as_json:
        click.echo(prometheus_text(report), nl=False)
    else:
        emit(report, as_json, human=_print_usage)


def _print_usage(report: UsageReport) -> None:
    total = report.total
    click.echo(
        f"runs {total.runs}  succeeded {total.succeeded}  failed {total.failed}  "
        f"minutes saved {total.minutes_saved}  tickets deflected {total.tickets_deflected}"
    )
    for item, found in sorted(report.items.items()):
        refused = ", ".join(f"{k} {v}" for k, v in sorted(found.refusals.items())) or "none"
        click.echo(
            f"  {item:<26} runs {found.runs:<4} ok {found.succeeded:<4} "
            f"saved {found.minutes_saved:<6} refused: {refused}"
        )
