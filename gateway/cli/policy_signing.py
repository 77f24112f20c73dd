"""``gateway policy sign|verify|history``: who vouches for the bundle, and which bundles
were in force (``docs/adr/0013-signed-policy-bundles.md``)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import click

from gateway.app.audit import audit_log_file, configured_audit_log
from gateway.app.gateway import open_policy_trust
from gateway.audit.keys import Signer, load_signer
from gateway.audit.records import AuditEvent
from gateway.cli.output import emit, json_option
from gateway.config import GatewayConfig
from gateway.enforcement import record_first
from gateway.errors import ConfigError, ExitCode
from gateway.policy.bundle import load_bundle
from gateway.policy.history import POLICY_SIGNED, BundleInForce, read_history
from gateway.policy.signatures import sign_digest, write_signature
from gateway.policy.trust import TrustCheck

__all__ = ["history", "sign", "verify"]

_POLICIES = click.option(
    "--policies",
    "policies_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Policy bundle directory (default: [policy] dir of the configuration).",
)


def _actor(by: str | None) -> str:
    if by is not None:
        return by
    try:
        return f"os:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in the environment nor a passwd entry
        return f"os:uid-{os.getuid()}"


def _signer_name(config: GatewayConfig, signer: Signer, given: str | None) -> str:
    if signer.key_id in config.policy.revoked_keys:
        raise ConfigError(f"key {signer.key_id} is revoked ([policy] revoked_keys)")
    if given is not None:
        return given
    trusted = open_policy_trust(config)
    for key in trusted.keys:
        if key.key_id == signer.key_id and not trusted.development:
            return key.signer
    raise ConfigError(
        f"key {signer.key_id} is not among [policy] trusted_keys: name the signer with --signer"
    )


@click.command()
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The signer's Ed25519 private key (PEM, mode 0600).",
)
@click.option(
    "--signer",
    default=None,
    metavar="NAME",
    help="The signer's name (default: the name [policy] trusted_keys gives this key).",
)
@_POLICIES
@click.option("--by", default=None, metavar="NAME", help="Who signs, for the audit log.")
@json_option
@click.pass_obj
def sign(
    config: GatewayConfig,
    key_path: Path,
    signer: str | None,
    policies_dir: Path | None,
    by: str | None,
    as_json: bool,
) -> None:
    """Sign the bundle's digest with KEY: writes signatures/NAME.sig.json in the bundle.
    Recorded in the audit log first (policy.signed, never key material); with the log
    unwritable nothing is signed (exit 5). The key is the authority: only signatures of
    [policy] trusted_keys count, from distinct signers, up to [policy] threshold."""
    root = policies_dir or config.policy.dir
    bundle = load_bundle(root)  # refuse to vouch for a bundle that does not validate
    private = load_signer(key_path)
    name = _signer_name(config, private, signer)
    signature = sign_digest(private, name, bundle.digest)  # validates the name
    event = AuditEvent(
        type=POLICY_SIGNED,
        actor=_actor(by),
        resource=f"policy_bundle:{root.name}",
        payload={"digest": bundle.digest, "signer": name, "key_id": private.key_id},
    )
    if config.audit.enabled:
        with configured_audit_log(config) as audit:  # the shared log on PostgreSQL
            record_first(audit.append, event)
            path = write_signature(root, signature)
    else:
        path = write_signature(root, signature)
    result = {"digest": bundle.digest, "signer": name, "key_id": private.key_id, "file": path}
    emit(result, as_json, human=lambda _: click.echo(f"{path}: {name} signed {bundle.digest}"))


def _print_check(check: TrustCheck) -> None:
    click.echo(f"digest     {check.digest}")
    click.echo(f"signed by  {', '.join(check.signers) or 'nobody trusted'}")
    click.echo(f"threshold  {check.describe()}")
    for problem in check.problems:
        click.echo(f"  {problem}")
    if check.development:
        click.echo(
            "warning: no [policy] trusted_keys: decisions are made under a development key",
            err=True,
        )


@click.command()
@_POLICIES
@json_option
@click.pass_obj
def verify(config: GatewayConfig, policies_dir: Path | None, as_json: bool) -> None:
    """Say who signed the bundle and whether it meets the threshold. Exit 0 when the
    gateway would put it in force, 1 when it would refuse it."""
    root = policies_dir or config.policy.dir
    bundle = load_bundle(root)
    check = open_policy_trust(config).check(root, bundle.digest)
    report = {
        "digest": check.digest,
        "trusted": check.ok,
        "verdict": check.verdict,
        "signers": list(check.signers),
        "threshold": check.threshold,
        "missing": check.missing,
        "development": check.development,
        "problems": list(check.problems),
    }
    emit(report, as_json, human=lambda _: _print_check(check))
    if not check.ok:
        raise click.exceptions.Exit(int(ExitCode.FAILED))


def _print_history(entries: list[BundleInForce]) -> None:
    if not entries:
        click.echo("no bundle in the audit log yet")
    for item in entries:
        signers = ", ".join(item.signers) or "signers not recorded"
        click.echo(f"{item.since}  {item.digest}  signed by {signers}")
        click.echo(f"    last record {item.until}, {item.decisions} decisions")


@click.command()
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The audit log (default: [audit] log of the configuration).",
)
@json_option
@click.pass_obj
def history(config: GatewayConfig, log_path: Path | None, as_json: bool) -> None:
    """Every bundle digest in force according to the audit log: since when, until when,
    who signed it and how many decisions it made, oldest first."""
    if log_path is not None:
        entries = read_history(log_path)
    else:
        with audit_log_file(config) as configured:  # an export when the log is in PostgreSQL
            entries = read_history(configured)
    emit({"bundles": entries}, as_json, human=lambda _: _print_history(entries))
