"""``gateway tree``: check troubleshooting trees and guide sessions through them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from gateway.app import load_trees, open_services, workflow_ids
from gateway.cli.output import emit, json_option
from gateway.cli.pairs import KeyValue
from gateway.config import GatewayConfig
from gateway.errors import ExitCode
from gateway.troubleshooting.engine import TroubleshootingEngine
from gateway.troubleshooting.errors import TroubleshootingError
from gateway.troubleshooting.paths import TreePath, enumerate_paths
from gateway.troubleshooting.report import TreeReport, build_report
from gateway.troubleshooting.session import SessionStatus
from gateway.troubleshooting.tree import Tree, load_tree
from gateway.troubleshooting.views import SessionView

__all__ = ["print_view", "tree", "troubleshooting"]


@contextmanager
def troubleshooting(config: GatewayConfig) -> Iterator[TroubleshootingEngine]:
    """The engine over the guarded runtime, closed afterwards."""
    with open_services(config) as parts:
        yield parts.troubleshooting


_COLOURS = {"resolved": "green", "escalated": "yellow", "waiting": "cyan", "active": "cyan"}


def print_view(view: SessionView) -> None:
    session = view.session
    state = click.style(str(session.status).upper(), fg=_COLOURS[session.status], bold=True)
    click.echo(
        f"{state}  {session.id}  {view.tree_title} ({session.tree} v{session.tree_version})"
        f"  technician {session.technician}"
    )
    if view.notice:
        click.echo(click.style(f"  notice: {view.notice}", fg="yellow"))
    for step in session.steps:
        value = "" if step.value is None else f" = {json.dumps(step.value, sort_keys=True)}"
        click.echo(f"  {step.kind:<9} {step.node}{value}")
    if view.prompt is not None:
        prompt = view.prompt
        kind = f"one of: {', '.join(map(str, prompt.choices))}" if prompt.choices else prompt.answer
        click.echo(click.style(f"  ? {prompt.text}", bold=True) + f"  ({kind})")
        if prompt.help:
            click.echo(f"    {prompt.help}")
        click.echo(f"  next: gateway tree answer {session.id} VALUE")
    elif session.status is SessionStatus.WAITING:
        click.echo(
            f"  waiting for workflow execution {session.execution}; see gateway executions "
            f"show {session.execution}, then: gateway tree resume {session.id}"
        )
    if session.outcome is not None:
        target = session.outcome.get("escalate_to")
        to = f" -> {target}" if target else ""
        click.echo(f"  outcome {session.outcome['node']}{to}: {session.outcome['summary']}")


def _finish(view: SessionView, as_json: bool) -> None:
    """Print the session; exit 6 while it waits for a workflow."""
    emit(view, as_json, human=print_view)
    if view.session.status is SessionStatus.WAITING:
        raise click.exceptions.Exit(int(ExitCode.WAITING))


_BY = click.option(
    "--by",
    default=None,
    metavar="PERSON",
    help="Who does it (default: the session's technician); anyone else needs a policy "
    "allow of troubleshooting.session.drive.",
)


@click.group()
def tree() -> None:
    """Guided troubleshooting: decision trees, sessions and their results."""


@tree.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def validate(config: GatewayConfig, files: tuple[Path, ...], as_json: bool) -> None:
    """Check FILES (default: every tree in the configured folder).  Exit 4 with every
    problem, each with file and line."""
    workflows = workflow_ids(config.runtime.workflows)
    trees: list[Tree] = (
        [load_tree(path, workflows) for path in files] if files else list(load_trees(config))
    )
    rows = [
        {
            "tree": item.id,
            "version": item.version,
            "file": item.source,
            "nodes": len(item.definition.nodes),
            "branches": sum(len(edges) for edges in item.edges.values()),
            "digest": item.digest,
        }
        for item in trees
    ]
    emit(rows, as_json, human=_print_validated)


def _print_validated(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        click.echo(
            f"ok  {row['tree']} v{row['version']}  {row['nodes']} nodes, "
            f"{row['branches']} branches  ({row['file']})"
        )


@tree.command()
@click.argument("tree_ref", metavar="TREE")
@json_option
@click.pass_obj
def paths(config: GatewayConfig, tree_ref: str, as_json: bool) -> None:
    """Every root-to-outcome path of TREE (an id, or a file), with a scenario for each."""
    path = Path(tree_ref)
    if tree_ref.endswith(".yaml") and path.is_file():
        item = load_tree(path, workflow_ids(config.runtime.workflows))
    else:
        item = load_trees(config).get(tree_ref)
    emit(enumerate_paths(item), as_json, human=_print_paths)


def _print_paths(found: list[TreePath]) -> None:
    for index, found_path in enumerate(found, 1):
        click.echo(f"{index:>4}  {found_path.result:<9} {found_path.name}")
    click.echo(f"{len(found)} paths")


@tree.command()
@click.argument("tree_id", metavar="TREE")
@click.option("--technician", required=True, help="Who troubleshoots (a directory user id).")
@click.option("--ticket", default=None, help="The help desk ticket this serves.")
@click.option(
    "--fact",
    "pairs",
    multiple=True,
    type=KeyValue(),
    help="A fact the ticket already holds (repeatable); its question is skipped.",
)
@json_option
@click.pass_obj
def start(
    config: GatewayConfig,
    tree_id: str,
    technician: str,
    ticket: str | None,
    pairs: tuple[tuple[str, str], ...],
    as_json: bool,
) -> None:
    """Start a session on TREE; it runs until it needs an answer.  Exit 6 while it waits
    for a workflow (approval, step-up)."""
    with troubleshooting(config) as engine:
        view = engine.start(tree_id, technician=technician, ticket=ticket, facts=dict(pairs))
    _finish(view, as_json)


@tree.command()
@click.argument("session_id")
@click.argument("value")
@_BY
@json_option
@click.pass_obj
def answer(
    config: GatewayConfig, session_id: str, value: str, by: str | None, as_json: bool
) -> None:
    """Answer the question SESSION_ID waits on (yes/no, a choice, a number or text).
    Exit 3 when someone other than its technician is not allowed to."""
    with troubleshooting(config) as engine:
        view = engine.answer(session_id, value, by=by)
    _finish(view, as_json)


@tree.command()
@click.argument("session_id")
@_BY
@json_option
@click.pass_obj
def show(config: GatewayConfig, session_id: str, by: str | None, as_json: bool) -> None:
    """A session as stored: its path, facts and the question it waits on."""
    with troubleshooting(config) as engine:
        view = engine.show(session_id, by=by)
    _finish(view, as_json)


@tree.command()
@click.argument("session_id")
@_BY
@json_option
@click.pass_obj
def undo(config: GatewayConfig, session_id: str, by: str | None, as_json: bool) -> None:
    """Take back the last answer."""
    with troubleshooting(config) as engine:
        view = engine.undo(session_id, by=by)
    _finish(view, as_json)


@tree.command()
@click.argument("session_id")
@_BY
@json_option
@click.pass_obj
def resume(config: GatewayConfig, session_id: str, by: str | None, as_json: bool) -> None:
    """Go on with a session where it stopped (after a restart, or once its workflow can
    go on)."""
    with troubleshooting(config) as engine:
        view = engine.resume(session_id, by=by)
    _finish(view, as_json)


@tree.command()
@click.argument("tree_id", metavar="TREE", required=False)
@click.option("--stale-hours", default=24.0, show_default=True, type=click.FloatRange(min=0),
              help="Unfinished sessions idle this long count as abandoned.")  # fmt: skip
@json_option
@click.pass_obj
def report(config: GatewayConfig, tree_id: str | None, stale_hours: float, as_json: bool) -> None:
    """Sessions, outcomes, average steps, resolution paths and dead ends, per tree."""
    with troubleshooting(config) as engine:
        ids = [tree_id] if tree_id else engine.store.trees()
        now = datetime.now(UTC)
        reports = [
            build_report(engine.store, item, now=now, stale_after=timedelta(hours=stale_hours))
            for item in ids
        ]
    emit(reports, as_json, human=_print_reports)


def _print_reports(reports: list[TreeReport]) -> None:
    if not reports:
        click.echo("no sessions yet")
    for found in reports:
        statuses = ", ".join(f"{count} {status}" for status, count in found.by_status.items())
        click.echo(click.style(found.tree, bold=True) + f"  {found.sessions} sessions ({statuses})")
        click.echo(f"  average steps (finished): {found.average_steps}")
        for node, count in found.outcomes.items():
            click.echo(f"  outcome  {count:>5}  {node}")
        for nodes, count in found.resolution_paths:
            click.echo(f"  resolved {count:>5}  {' > '.join(nodes)}")
        for end in found.dead_ends:
            click.echo(f"  dead end {end.sessions:>5}  {end.node} ({end.kind})")


@tree.command()
@click.argument("tree_id", metavar="TREE")
@click.option("--technician", required=True, help="Who troubleshoots (a directory user id).")
@click.option("--ticket", default=None, help="The help desk ticket this serves.")
@click.pass_obj
def run(config: GatewayConfig, tree_id: str, technician: str, ticket: str | None) -> None:
    """Guide a session interactively: answer each question; "undo" takes the last answer
    back, an empty line stops (resume later with gateway tree resume)."""
    with troubleshooting(config) as engine:
        view = engine.start(tree_id, technician=technician, ticket=ticket)
        while view.prompt is not None:
            print_view(view)
            reply = click.prompt("answer", default="", show_default=False).strip()
            if not reply:
                click.echo(f"stopped; resume with: gateway tree resume {view.session.id}")
                return
            try:
                if reply == "undo":
                    view = engine.undo(view.session.id)
                else:
                    view = engine.answer(view.session.id, reply)
            except TroubleshootingError as exc:
                click.echo(f"error: {exc}", err=True)
    _finish(view, False)
