"""``gateway callers table``: the authorization table of every route and command."""

from __future__ import annotations

from dataclasses import asdict

import click

from gateway.cli.output import emit, json_option
from gateway.enforcement.markdown import BEGIN, END, scopes_markdown, table_markdown
from gateway.enforcement.table import AUTHORIZATION_TABLE, commands, routes

__all__ = ["table"]


@click.command()
@json_option
@click.option(
    "--markdown", is_flag=True, help="Print the scopes and the table as docs/api.md shows them."
)
def table(as_json: bool, markdown: bool) -> None:
    """Every HTTP route and command: who may call it, the scope it needs, the policy
    action that decides it and the audit event it writes (--json: an array of them)."""
    if markdown and not as_json:
        click.echo(BEGIN)
        click.echo("\n#### Scopes\n")
        click.echo(scopes_markdown())
        click.echo("\n#### Routes\n")
        click.echo(table_markdown(routes()))
        click.echo("\n#### Commands\n")
        click.echo(table_markdown(commands()))
        click.echo(END)
        return
    rows = [{**asdict(entry), "http": entry.http} for entry in AUTHORIZATION_TABLE]
    emit(rows, as_json, human=lambda _: _print_table())


def _print_table() -> None:
    for entry in AUTHORIZATION_TABLE:
        guard = entry.scope or "/".join(entry.callers)
        click.echo(f"{entry.name:<58} {guard:<22} {entry.action or '-':<30} {entry.audit or '-'}")
