"""``gateway policy impact``: the past decisions a candidate bundle would change."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import click

from gateway.app.directory import build_directory
from gateway.audit.log import read_lines
from gateway.audit.records import format_time, parse_record
from gateway.cli.output import emit, json_option
from gateway.clock import utcnow
from gateway.config import GatewayConfig
from gateway.errors import ExitCode, VerificationError
from gateway.policy.bundle import load_bundle
from gateway.policy.engine import PolicyEngine
from gateway.policy.impact import ImpactReport, analyse_impact, load_expectations, markdown

__all__ = ["impact"]

_SINCE = re.compile(r"([1-9][0-9]{0,4})([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def _since(value: str | None) -> str | None:
    if value is None:
        return None
    match = _SINCE.fullmatch(value)
    if match is None:
        raise click.BadParameter("expected a duration such as 7d, 12h or 30m", param_hint="--since")
    delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    return format_time(utcnow() - delta)


def _print(report: ImpactReport) -> None:
    click.echo(
        f"{report.replayed} decisions replayed ({report.distinct_requests} distinct requests, "
        f"on current directory facts), {report.not_replayable} not replayable"
    )
    if not report.groups:
        click.echo("no decision would change")
    for group in report.groups:
        flag = "" if group.declared else "  (not declared)"
        click.echo(f"{group.action}: {group.change.replace('_', ' ')} x{group.count}{flag}")
        click.echo(
            f"    before {', '.join(group.before) or '-'}; after {', '.join(group.after) or '-'}"
        )
        for example in group.examples:
            click.echo(f"    #{example['seq']} {example['actor']} on {example['resource']}")


@click.command()
@click.option(
    "--candidate",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The candidate bundle directory.",
)
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The audit log to replay (default: [audit] log of the configuration).",
)
@click.option(
    "--since", default=None, metavar="AGE", help="Only decisions of the last AGE (7d, 12h)."
)
@click.option(
    "--expect",
    "expect_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML of the changes the reviewer intends (expected: [{action, change}]).",
)
@click.option("--markdown", "as_markdown", is_flag=True, help="Print a Markdown report.")
@json_option
@click.pass_obj
def impact(
    config: GatewayConfig,
    candidate: Path,
    log_path: Path | None,
    since: str | None,
    expect_path: Path | None,
    as_markdown: bool,
    as_json: bool,
) -> None:
    """Replay the decisions of the audit log against a candidate bundle and report every
    one that would change. Exit 1 when a change is not declared in --expect."""
    cutoff = _since(since)
    engine = PolicyEngine(load_bundle(candidate))
    expectations = load_expectations(expect_path) if expect_path is not None else None
    log = log_path or config.audit.log
    try:
        lines = list(read_lines(log))
    except OSError as exc:
        raise VerificationError("unreadable log", f"{log}: {exc.strerror}") from exc
    records = (parse_record(line, index) for index, line in enumerate(lines))
    report = analyse_impact(
        records, engine, build_directory(config.identity), since=cutoff, expectations=expectations
    )
    if as_markdown and not as_json:
        click.echo(markdown(report, str(candidate)), nl=False)
    else:
        emit(
            {**vars(report), "undeclared": len(report.undeclared)},
            as_json,
            human=lambda _: _print(report),
        )
    if report.undeclared:
        raise click.exceptions.Exit(int(ExitCode.FAILED))
