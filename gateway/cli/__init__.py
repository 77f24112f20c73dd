"""The ``gateway`` command.  Exit codes: see ``gateway.errors.ExitCode`` and the README."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gateway.cli.approvals import approvals
from gateway.cli.audit import audit
from gateway.cli.authorize import authorize
from gateway.cli.callers import callers
from gateway.cli.catalog import catalog
from gateway.cli.demo import demo
from gateway.cli.executions import executions, run
from gateway.cli.kb import kb
from gateway.cli.keys import keys
from gateway.cli.policy import policy
from gateway.cli.serve import serve
from gateway.cli.stepup import stepup
from gateway.cli.tickets import tickets
from gateway.cli.tree import tree
from gateway.config import load_config
from gateway.errors import GatewayError

__all__ = ["cli", "main"]


class _Gateway(click.Group):
    """Prints a ``GatewayError``'s diagnostics once and exits with its code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GatewayError as exc:
            click.echo(f"error: {exc.diagnostics()}", err=True)
            ctx.exit(int(exc.exit_code))


@click.group(cls=_Gateway, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Configuration file (default: ./gateway.toml when present, else embedded defaults).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Policy-as-code authorization and automation gateway for IT support."""
    ctx.obj = load_config(config_path)


cli.add_command(policy)
cli.add_command(authorize)
cli.add_command(demo)
cli.add_command(keys)
cli.add_command(audit)
cli.add_command(stepup)
cli.add_command(approvals)
cli.add_command(run)
cli.add_command(executions)
cli.add_command(serve)
cli.add_command(callers)
cli.add_command(catalog)
cli.add_command(kb)
cli.add_command(tickets)
cli.add_command(tree)


def main() -> None:
    cli(prog_name="gateway")
