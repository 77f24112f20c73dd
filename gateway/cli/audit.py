"""``gateway audit``: verify the log, sign checkpoints, prove inclusion and consistency,
and record manual actions."""

from __future__ import annotations

import base64
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from gateway.audit.checkpoints import (
    DEFAULT_LOG_NAME,
    build_tree,
    check_consistency,
    make_checkpoint,
    open_signed_checkpoint,
    verify_log_file,
)
from gateway.audit.export import export_lines
from gateway.audit.keys import load_public_key, load_signer
from gateway.audit.log import AuditLog
from gateway.audit.merkle import HASH_SIZE
from gateway.audit.records import AuditEvent
from gateway.cli.audit_source import LOG_OPTION, log_file
from gateway.cli.audit_view import describe, show_records
from gateway.cli.output import emit, json_option
from gateway.config import GatewayConfig, load_config
from gateway.errors import ExitCode, RequestError, VerificationError
from gateway.privacy.sealer import open_sealer

__all__ = ["audit"]

_EXISTING_LOG = click.option(
    "--log",
    "log_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The audit log file.",
)

_PROGRESS_BYTES = 8 << 20  # show progress for logs larger than this, on a terminal


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@click.group()
def audit() -> None:
    """Verify and extend the signed, hash-chained audit log."""


@audit.command()
@_EXISTING_LOG
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The trusted public key (PEM) the log started with.",
)
@click.option(
    "--checkpoint",
    "checkpoint_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A signed checkpoint the log must contain.",
)
@click.option(
    "--chain-only",
    is_flag=True,
    help="Fast mode: check the hash chain and the checkpoint root, not every record's "
    "signature and form (trust then rests on the checkpoint's signature).",
)
@click.option(
    "--origin",
    default=None,
    help="The log name the checkpoint must carry (default: any, shown in the output).",
)
@json_option
def verify(
    log_path: Path,
    key_path: Path,
    checkpoint_path: Path | None,
    chain_only: bool,
    origin: str | None,
    as_json: bool,
) -> None:
    """Verify every record with the public key alone. Exit 0 when the log holds, 1 at the
    first bad record (named by sequence number and kind of failure)."""
    key = load_public_key(key_path)
    note = _read_text(checkpoint_path) if checkpoint_path is not None else None
    size = log_path.stat().st_size if log_path.exists() else 0
    try:
        hidden = size < _PROGRESS_BYTES or not sys.stderr.isatty()
        with click.progressbar(
            length=size, label="verifying", file=sys.stderr, hidden=hidden
        ) as bar:
            done = [0]

            def progress(count: int) -> None:
                if count % 4096 == 0:
                    position = min(size, count * (size // max(count, 1)))
                    bar.update(position - done[0])
                    done[0] = position

            result = verify_log_file(
                log_path,
                key,
                checkpoint_note=note,
                check_signatures=not chain_only,
                progress=progress,
                origin=origin,
            )
    except VerificationError as exc:
        failure = {"valid": False, "sequence": exc.sequence, "kind": exc.kind, "error": str(exc)}
        message = f"FAILED {exc}"
        emit(failure, as_json, human=lambda _: click.echo(message, err=True))
        raise click.exceptions.Exit(int(ExitCode.FAILED)) from exc
    report = result.report
    summary = {
        "valid": True,
        "records": report.records,
        "head_hash": report.head_hash,
        "root_hash": _b64(report.root),
        "key_ids": list(report.key_ids),
        "signatures_checked": not chain_only,
        "checkpoint_size": report.checkpoint_size,
    }
    lines = [f"ok: {report.records} records, head {report.head_hash}"]
    if result.checkpoint is not None:
        lines.append(
            f"contains checkpoint {result.checkpoint.origin} at size {report.checkpoint_size}"
        )
    if chain_only:
        lines.append("signatures not checked (--chain-only)")
    emit(summary, as_json, human=lambda _: click.echo("\n".join(lines)))


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")  # exactly as written: no newline translation
    except (OSError, UnicodeDecodeError) as exc:
        raise RequestError(f"{path}: cannot read: {type(exc).__name__}") from exc


@audit.command()
@LOG_OPTION
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The private key (PEM) that signs the checkpoint.",
)
@click.option("--name", default=DEFAULT_LOG_NAME, show_default=True, help="The log's origin.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the checkpoint here instead of standard output.",
)
@click.pass_context
def checkpoint(
    ctx: click.Context, log_path: Path | None, key_path: Path, name: str, out: Path | None
) -> None:
    """Sign a C2SP checkpoint over the log as it is now."""
    with log_file(ctx, log_path) as path:
        note = make_checkpoint(path, load_signer(key_path), name)
    if out is None:
        click.echo(note, nl=False)
    else:
        out.write_text(note, encoding="utf-8")
        click.echo(f"checkpoint written to {out}", err=True)


@audit.command()
@LOG_OPTION
@click.option("--index", type=click.IntRange(min=0), required=True, help="The record (0-based).")
@click.option("--size", type=click.IntRange(min=1), required=True, help="The tree size.")
@json_option
@click.pass_context
def prove(ctx: click.Context, log_path: Path | None, index: int, size: int, as_json: bool) -> None:
    """Print the inclusion proof of record INDEX in the tree of the first SIZE records."""
    with log_file(ctx, log_path) as path:
        tree = build_tree(path)
    if size > tree.size or index >= size:
        raise RequestError(f"--index {index} --size {size}: the log has {tree.size} records")
    proof = tree.inclusion_proof(index, size)
    result = {
        "index": index,
        "size": size,
        "leaf_hash": _b64(tree.leaf(index)),
        "root_hash": _b64(tree.root(size)),
        "proof": [_b64(item) for item in proof],
    }
    emit(result, as_json, human=_print_fields)


def _print_fields(result: dict[str, Any]) -> None:
    for key, value in result.items():
        if isinstance(value, list):
            click.echo(f"{key}:")
            for item in value:
                click.echo(f"  {item}")
        else:
            click.echo(f"{key}: {value}")


@audit.command()
@LOG_OPTION
@click.option("--from", "old_size", type=click.IntRange(min=0), required=True, help="Old size.")
@click.option("--to", "new_size", type=click.IntRange(min=0), required=True, help="New size.")
@json_option
@click.pass_context
def consistency(
    ctx: click.Context, log_path: Path | None, old_size: int, new_size: int, as_json: bool
) -> None:
    """Print the proof that the tree of size TO extends the tree of size FROM."""
    with log_file(ctx, log_path) as path:
        tree = build_tree(path)
    if old_size > new_size or new_size > tree.size:
        raise RequestError(f"--from {old_size} --to {new_size}: the log has {tree.size} records")
    result = {
        "from": old_size,
        "to": new_size,
        "old_root": _b64(tree.root(old_size)),
        "new_root": _b64(tree.root(new_size)),
        "proof": [_b64(item) for item in tree.consistency_proof(old_size, new_size)],
    }
    emit(result, as_json, human=_print_fields)


@audit.command()
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The audit log file (default: the configured log, in the shared database when "
    "[storage] backend is postgresql).",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The private key (PEM) that signs the record (with --log; default: [audit] signing_key).",
)
@click.option(
    "--event",
    "event_text",
    default="-",
    show_default=True,
    help="The event as JSON, or - to read it from standard input.",
)
@json_option
@click.pass_obj
def record(
    config: GatewayConfig | None,
    log_path: Path | None,
    key_path: Path | None,
    event_text: str,
    as_json: bool,
) -> None:
    """Record a manual action, e.g. --event '{"type": "manual.action", "actor": "elena",
    "action": "printer.reboot", "resource": "host:printer-3f"}'. Personal fields are
    sealed with the [privacy] data key store (docs/privacy.md)."""
    raw = sys.stdin.read() if event_text == "-" else event_text
    try:
        event = AuditEvent.model_validate_json(raw)
    except ValidationError as exc:
        detail = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in detail["loc"]) or "event"
        raise RequestError(f"--event: {where}: {detail['msg']}") from exc
    config = config if config is not None else load_config()
    if log_path is None:
        from gateway.app.audit import configured_audit_log  # the composition root

        with configured_audit_log(config) as configured:
            written = configured.append(event)
    else:
        settings = config.privacy
        sealer = open_sealer(settings) if settings.seal else None
        signer = load_signer(key_path or config.audit.signing_key)
        with AuditLog(log_path, signer, sealer=sealer) as log:
            written = log.append(event)
    result = {"seq": written.seq, "hash": written.hash, "redacted": list(written.redacted)}
    emit(
        result, as_json, human=lambda r: click.echo(f"recorded as seq {r['seq']}, hash {r['hash']}")
    )


@audit.command()
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write the log to (replaced whole when it exists).",
)
@click.option(
    "--checkpoint",
    "checkpoint_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a checkpoint over exactly the records exported, signed with "
    "[audit] signing_key under [audit] name.",
)
@json_option
@click.pass_obj
def export(
    config: GatewayConfig | None, output: Path, checkpoint_path: Path | None, as_json: bool
) -> None:
    """Write the configured audit log, in sequence order, as the log file `gateway audit
    verify` reads: from the file [audit] log, or from the shared database when [storage]
    backend is postgresql."""
    from gateway.app.audit import audit_records  # the composition root, only when used

    config = config if config is not None else load_config()
    with audit_records(config) as reader:
        written = export_lines(reader.lines(), output)
        where = reader.where
    if checkpoint_path is not None:
        note = written.checkpoint(load_signer(config.audit.signing_key), config.audit.name)
        checkpoint_path.write_text(note, encoding="utf-8")
    result = {
        "records": written.records,
        "output": str(output),
        "root_hash": _b64(written.root),
        "from": where,
        "checkpoint": None if checkpoint_path is None else str(checkpoint_path),
    }
    emit(
        result,
        as_json,
        human=lambda r: click.echo(f"exported {r['records']} records from {r['from']} to {output}"),
    )


@audit.command()
@click.option(
    "--log",
    "log_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The audit log file (default: the configured log, in the shared database when "
    "[storage] backend is postgresql).",
)
@click.option(
    "--data-keys",
    "keys_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The data key store that opens sealed fields (default: [privacy] key_store).",
)
@click.option("--seq", "only", type=click.IntRange(min=0), default=None, help="One record.")
@json_option
@click.pass_context
def show(
    ctx: click.Context,
    log_path: Path | None,
    keys_path: Path | None,
    only: int | None,
    as_json: bool,
) -> None:
    """The auditor's view: every record with its sealed personal fields opened where the
    data key is held, "erased" where it was shredded, "unavailable" without the key
    store.  Verification does not need this: it checks the sealed form."""
    config = ctx.find_root().obj
    if not isinstance(config, GatewayConfig):  # called on its own, without a configuration
        shown = list(show_records(log_path or Path("var/audit.log"), keys_path, only))
    else:
        from gateway.app.audit import audit_log_file, data_keys  # the composition root

        with ExitStack() as stack:
            # the configured log as a file: an export of it when it is in PostgreSQL
            path = log_path or stack.enter_context(audit_log_file(config))
            held = stack.enter_context(data_keys(config, keys_path))
            shown = list(show_records(path, None, only, held=held))
    emit(shown, as_json, human=lambda rows: click.echo("\n".join(map(describe, rows))))


@audit.command(name="check-consistency")
@click.option(
    "--old",
    "old_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The checkpoint the auditor kept.",
)
@click.option(
    "--new",
    "new_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A later checkpoint.",
)
@click.option(
    "--proof",
    "proof_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The JSON printed by `gateway audit consistency --json`.",
)
@click.option(
    "--key",
    "key_paths",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A public key (PEM) that may sign checkpoints; repeat after rotations.",
)
@json_option
def check_consistency_command(
    old_path: Path, new_path: Path, proof_path: Path, key_paths: tuple[Path, ...], as_json: bool
) -> None:
    """Prove, without the log, that the log of NEW only grew from the log of OLD.
    Exit 0 when the proof holds, 1 otherwise."""
    keys = [load_public_key(path) for path in key_paths]
    proof = _read_proof(proof_path)
    try:
        old = open_signed_checkpoint(_read_text(old_path), keys)
        new = open_signed_checkpoint(_read_text(new_path), keys)
        check_consistency(old, new, proof)
    except VerificationError as exc:
        failure = {"consistent": False, "kind": exc.kind, "error": str(exc)}
        message = f"FAILED {exc}"
        emit(failure, as_json, human=lambda _: click.echo(message, err=True))
        raise click.exceptions.Exit(int(ExitCode.FAILED)) from exc
    result = {"consistent": True, "old_size": old.size, "new_size": new.size, "origin": new.origin}
    ok = f"ok: the log at size {new.size} extends the log at size {old.size}"
    emit(result, as_json, human=lambda _: click.echo(ok))


def _proof_hash(item: object) -> bytes:
    """One proof hash: 32 bytes in canonical standard base64."""
    if not isinstance(item, str):
        raise TypeError("a proof hash is a string")
    raw = base64.b64decode(item, validate=True)
    if len(raw) != HASH_SIZE or _b64(raw) != item:
        raise ValueError("a proof hash is 32 bytes in canonical base64")
    return raw


def _read_proof(path: Path) -> list[bytes]:
    """The ``proof`` member of what `gateway audit consistency --json` printed."""
    try:
        document = json.loads(_read_text(path))
        return [_proof_hash(item) for item in document["proof"]]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise RequestError(
            f"{path}: not a consistency proof from `gateway audit consistency --json`"
        ) from exc
