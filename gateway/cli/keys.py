"""``gateway keys init`` and ``gateway keys rotate``: make and replace the audit log's
signing key."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.audit.checkpoints import DEFAULT_LOG_NAME
from gateway.audit.keys import init_keys
from gateway.audit.note import verifier_key
from gateway.audit.rotation import Rotation, rotate_signing_key
from gateway.cli.output import emit, json_option
from gateway.config import GatewayConfig, load_config

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
@json_option
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
    emit(result, as_json, human=_print_init)


def _print_init(result: dict[str, str]) -> None:
    click.echo(f"private key  {result['private_key']} (keep it secret; never commit it)")
    click.echo(f"public key   {result['public_key']}")
    click.echo(f"key id       {result['key_id']}")
    click.echo(f"verifier key {result['verifier_key']}")


@keys.command()
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The audit log file whose signing key is replaced (default: the configured log, "
    "in the shared database when [storage] backend is postgresql).",
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
@json_option
@click.pass_obj
def rotate(
    config: GatewayConfig | None, log_path: Path | None, directory: Path, name: str, as_json: bool
) -> None:
    """Replace the signing key: the current key signs a record that introduces the new
    one, the old private key is kept as audit-signing.key.retired-KEYID, the new public key
    is written as audit-signing-KEYID.pub, and later records use the new key.
    audit-signing.pub, the key auditors pin, is left as it is."""
    if log_path is not None:
        rotation = rotate_signing_key(log_path, directory)
        place = str(log_path)
    else:
        from gateway.app.audit import audit_log_opener  # the composition root

        configured = config if config is not None else load_config()
        with audit_log_opener(configured) as opener:
            rotation = rotate_signing_key(configured.audit.log, directory, open_log=opener)
        shared = configured.storage.backend == "postgresql"
        place = "the audit log in the shared database" if shared else str(configured.audit.log)
    verifier = verifier_key(name, rotation.new.public_key)
    result = {
        "old_key_id": rotation.old.key_id,
        "new_key_id": rotation.new.key_id,
        "rotation_record": rotation.record.seq,
        "new_public_key": str(rotation.new_public_key),
        "verifier_key": verifier,
        "first_key_id": rotation.first_key_id,
        "pin": str(rotation.pin),
        "pin_key_id": rotation.pin_key_id,
    }
    emit(result, as_json, human=lambda _: _print_rotation(rotation, place, verifier))


def _print_rotation(rotation: Rotation, place: str, verifier: str) -> None:
    click.echo(
        f"rotated {rotation.old.key_id} -> {rotation.new.key_id} "
        f"(record {rotation.record.seq} of {place})"
    )
    click.echo(f"new public key {rotation.new_public_key}")
    click.echo(f"verifier key {verifier}")
    if rotation.pin_key_id == rotation.first_key_id:
        click.echo(
            f"auditors pin the log's first key {rotation.first_key_id}: {rotation.pin} "
            "(rotation never changes it; verification follows the rotation records)"
        )
    else:
        found = rotation.pin_key_id or "no readable key"
        click.echo(
            f"auditors pin the log's first key {rotation.first_key_id}; {rotation.pin} holds "
            f"{found}: give auditors the key {rotation.first_key_id} instead",
            err=True,
        )
