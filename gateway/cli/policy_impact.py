"""``gateway policy impact``: the past decisions a candidate bundle would change."""

from __future__ import annotations

import re
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import click

from gateway.app.audit import audit_log_file
from gateway.app.directory import build_directory
from gateway.audit.keys import load_public_key
from gateway.audit.records import format_time
from gateway.cli.output import emit, json_option
from gateway.cli.policy_sealed import open_sealed_facts
from gateway.clock import utcnow
from gateway.config import GatewayConfig
from gateway.errors import ExitCode, VerificationError
from gateway.policy.bundle import load_bundle
from gateway.policy.engine import PolicyEngine
from gateway.policy.impact import ImpactReport, analyse_impact, load_expectations, markdown
from gateway.policy.impact_log import read_decision_log

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
    basis = {
        "recorded": "on the facts each record keeps",
        "current": "all replayed against current facts",
        "mixed": f"{report.on_current_facts} replayed against current facts",
    }[report.facts]
    click.echo(
        f"{report.replayed} decisions replayed ({report.distinct_requests} distinct requests, "
        f"{basis}), {report.not_replayable} not replayable"
    )
    for why, count in sorted(report.not_replayable_why.items()):
        click.echo(f"    not replayable, {why}: {count}")
    if not report.groups:
        click.echo("no decision would change")
    for group in report.groups:
        flag = "" if group.declared else "  (not declared)"
        click.echo(f"{group.action}: {group.change.replace('_', ' ')} x{group.count}{flag}")
        click.echo(
            f"    before {', '.join(group.before) or '-'}; after {', '.join(group.after) or '-'}"
        )
        for example in group.examples:
            marked = " (replayed against current facts)" if example["facts"] == "current" else ""
            click.echo(f"    #{example['seq']} {example['actor']} on {example['resource']}{marked}")


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
    "--public-key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The public key (PEM) the log started with (default: the one of [audit] signing_key).",
)
@click.option(
    "--checkpoint",
    "checkpoint_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A signed checkpoint of the log; its origin must be [audit] name.",
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
    key_path: Path | None,
    checkpoint_path: Path | None,
    since: str | None,
    expect_path: Path | None,
    as_markdown: bool,
    as_json: bool,
) -> None:
    """Replay the decisions of the audit log against a candidate bundle and report every
    one that would change. Exit 1 when a change is not declared in --expect.

    Records keeping the facts they were decided on are replayed on those; older ones
    against the directory's current facts (marked so). A log that did not start with the
    audit key, or whose checkpoint names another origin, is refused."""
    cutoff = _since(since)
    engine = PolicyEngine(load_bundle(candidate))
    expectations = load_expectations(expect_path) if expect_path is not None else None
    with ExitStack() as stack:
        # the configured log as a file: an export of it when it is in PostgreSQL
        log = log_path or stack.enter_context(audit_log_file(config))
        records = read_decision_log(
            log,
            load_public_key(key_path or config.audit.signing_key.with_suffix(".pub")),
            checkpoint=_read(checkpoint_path) if checkpoint_path is not None else None,
            origin=config.audit.name,
        )
        records = open_sealed_facts(records, config.privacy.key_store, config.storage)
        report = analyse_impact(
            records,
            engine,
            build_directory(config.identity),
            since=cutoff,
            expectations=expectations,
        )
    if as_markdown and not as_json:
        click.echo(markdown(report, str(candidate)), nl=False)
    else:
        emit(
            report.as_json(),
            as_json,
            human=lambda _: _print(report),
        )
    if report.undeclared:
        raise click.exceptions.Exit(int(ExitCode.FAILED))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VerificationError("unreadable checkpoint", f"{path}: {exc}") from exc
