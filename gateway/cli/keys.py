"""``gateway keys init``: make the audit log's signing key."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gateway.audit.checkpoints import DEFAULT_LOG_NAME
from gateway.audit.keys import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, init_keys, load_signer
from gateway.audit.log import AuditLog
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


@keys.command()
@click.option(
    "--log",
    "log_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The audit log whose signing key is replaced.",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("keys"),
    show_default=True,
    help="Where the current key pair is.",
)
@click.option("--name", default=DEFAULT_LOG_NAME, show_default=True, help="The log's name.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def rotate(log_path: Path, directory: Path, name: str, as_json: bool) -> None:
    """Replace the signing key: the current key signs a record that introduces the new
    one, the old pair is kept as *.retired-KEYID, and later records use the new key."""
    private_path = directory / PRIVATE_KEY_FILE
    old = load_signer(private_path)
    staging = directory / f".rotating-{old.key_id}"
    _, _, new = init_keys(staging, force=True)
    with AuditLog(log_path, old) as log:
        record = log.rotate_key(new)
    for file_name in (PRIVATE_KEY_FILE, PUBLIC_KEY_FILE):
        (directory / file_name).rename(directory / f"{file_name}.retired-{old.key_id}")
        (staging / file_name).rename(directory / file_name)
    staging.rmdir()
    result = {
        "old_key_id": old.key_id,
        "new_key_id": new.key_id,
        "rotation_record": record.seq,
        "verifier_key": verifier_key(name, new.public_key),
    }
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"rotated {old.key_id} -> {new.key_id} (record {record.seq} of {log_path})")
    click.echo(f"verifier key {result['verifier_key']}")
    click.echo("auditors keep trusting the original public key: verification follows rotations")
