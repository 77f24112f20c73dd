"""``gateway callers table``: the authorization table of every route and command."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from gateway.enforcement.markdown import BEGIN, END, scopes_markdown, table_markdown
from gateway.enforcement.table import AUTHORIZATION_TABLE, commands, routes

__all__ = ["table"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the table as a JSON array.")
@click.option(
    "--markdown", is_flag=True, help="Print the scopes and the table as docs/api.md shows them."
)
def table(as_json: bool, markdown: bool) -> None:
    """Every HTTP route and command: who may call it, the scope it needs, the policy
    action that decides it and the audit event it writes."""
    if as_json:
        rows = [{**asdict(entry), "http": entry.http} for entry in AUTHORIZATION_TABLE]
        click.echo(json.dumps(rows, indent=2))
        return
    if markdown:
        click.echo(BEGIN)
        click.echo("\n#### Scopes\n")
        click.echo(scopes_markdown())
        click.echo("\n#### Routes\n")
        click.echo(table_markdown(routes()))
        click.echo("\n#### Commands\n")
        click.echo(table_markdown(commands()))
        click.echo(END)
        return
    for entry in AUTHORIZATION_TABLE:
        guard = entry.scope or "/".join(entry.callers)
        click.echo(f"{entry.name:<58} {guard:<22} {entry.action or '-':<30} {entry.audit or '-'}")
