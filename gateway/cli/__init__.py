"""The ``gateway`` command.  Exit codes: see ``gateway.errors.ExitCode`` and the README."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from gateway.cli.output import report_error
from gateway.config import load_config
from gateway.errors import GatewayError

__all__ = ["cli", "main"]


# Command name -> the module and attribute defining it, imported when the command is used:
# a command pays only for its own imports (the HTTP stack is not loaded to verify a log).
COMMANDS: dict[str, tuple[str, str]] = {
    "policy": ("gateway.cli.policy", "policy"),
    "authorize": ("gateway.cli.authorize", "authorize"),
    "demo": ("gateway.cli.demo", "demo"),
    "keys": ("gateway.cli.keys", "keys"),
    "audit": ("gateway.cli.audit", "audit"),
    "stepup": ("gateway.cli.stepup", "stepup"),
    "approvals": ("gateway.cli.approvals", "approvals"),
    "run": ("gateway.cli.executions", "run"),
    "executions": ("gateway.cli.executions", "executions"),
    "serve": ("gateway.cli.serve", "serve"),
    "callers": ("gateway.cli.callers", "callers"),
    "catalog": ("gateway.cli.catalog", "catalog"),
    "kb": ("gateway.cli.kb", "kb"),
    "tickets": ("gateway.cli.tickets", "tickets"),
    "tree": ("gateway.cli.tree", "tree"),
    "offline": ("gateway.cli.offline", "offline"),
    "privacy": ("gateway.cli.privacy", "privacy"),
}


class _Gateway(click.Group):
    """Loads each command on first use; prints a ``GatewayError``'s diagnostics once (and,
    with ``--json``, its JSON document) and exits with its code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GatewayError as exc:
            report_error(ctx, exc)


@click.group(cls=_Gateway, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Configuration file (default: ./gateway.toml when present, else embedded defaults).",
)
@click.option(
    "--offline",
    "offline_kit",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="KIT",
    help="Decide with this field kit only, recording in its segment (docs/offline.md).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, offline_kit: Path | None) -> None:
    """Policy-as-code authorization and automation gateway for IT support."""
    config = load_config(config_path)
    if offline_kit is not None:
        from gateway.app.offline import offline_config
        from gateway.clock import utcnow

        config = offline_config(config, offline_kit, utcnow())
    ctx.obj = config


def main() -> None:
    cli(prog_name="gateway")
