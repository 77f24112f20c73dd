"""``gateway keys init``: make the audit log's signing key."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gateway.audit.checkpoints import DEFAULT_LOG_NAME
from gateway.audit.keys import init_keys
from gateway.audit.note import verifier_key

__all__ = ["keys"]


@click.group()
def keys() -> None:
    """Manage the audit log's signing keys."""


@keys.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("keys"),
    show_default=True,
    help="Where to write the key pair.",
)
@click.option(
    "--name",
    default=DEFAULT_LOG_NAME,
    show_default=True,
    help="The log's name: checkpoint origin and note key name.",
)
@click.option("--force", is_flag=True, help="Replace an existing key pair.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def init(directory: Path, name: str, force: bool, as_json: bool) -> None:
    """Write an Ed25519 key pair (private key mode 0600) and print its key id and the
    note verifier key that checkpoint tools need."""
    private_path, public_path, signer = init_keys(directory, force=force)
    result = {
        "private_key": str(private_path),
        "public_key": str(public_path),
        "key_id": signer.key_id,
        "verifier_key": verifier_key(name, signer.public_key),
    }
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"private key  {private_path} (keep it secret; never commit it)")
    click.echo(f"public key   {public_path}")
    click.echo(f"key id       {signer.key_id}")
    click.echo(f"verifier key {result['verifier_key']}")
