"""The policy lifecycle scenario of ``gateway demo``: a signed bundle, a refused unsigned
change, and the impact of a candidate on the decisions the demo just made.

In a temporary copy of the bundle in force, a security key (made for the demo) signs the
bundle (``policy.signed`` is recorded first) and a store trusting only that key puts it
in force.  Then a policy file is changed without signing again: the reload is refused,
the last good bundle stays in force and the refusal is recorded (``policy.refused``).
Last, a candidate that lets only the helpdesk reset passwords is replayed against the
demo's audit log, on the facts each decision record keeps, listing the decisions it
would change (``gateway policy impact`` does the same from the command line).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from gateway.app import Gateway
from gateway.app.audit import audit_log_file
from gateway.audit.keys import PUBLIC_KEY_FILE, init_keys, load_public_key
from gateway.audit.records import AuditEvent
from gateway.cli.policy_sealed import open_sealed_facts
from gateway.config import GatewayConfig
from gateway.enforcement import record_first
from gateway.policy.bundle import load_bundle
from gateway.policy.engine import PolicyEngine
from gateway.policy.history import POLICY_SIGNED
from gateway.policy.impact import ImpactReport, analyse_impact
from gateway.policy.impact_log import read_decision_log
from gateway.policy.signatures import SIGNATURE_DIR, sign_digest, write_signature
from gateway.policy.store import PolicyStore
from gateway.policy.trust import BundleTrust, TrustedKey
from gateway.runtime.executor import Executor

__all__ = ["TIGHTER_RESETS", "run_policy_scenario"]

SIGNER = "security-demo"
TIGHTER_RESETS = """
@id("password-resets-by-the-helpdesk-only")
@message("password resets go through the helpdesk")
forbid (principal, action == Action::"password.reset", resource)
unless { principal in Group::"helpdesk" };
"""
UNSIGNED_CHANGE = """
@id("anyone-publishes")
@message("everyone may publish articles")
permit (principal, action == Action::"kb.publish", resource);
"""


def run_policy_scenario(config: GatewayConfig, gateway: Gateway, executor: Executor) -> None:
    """Sign a copy of the bundle, refuse an unsigned change to it, and print the impact of
    a candidate that tightens password resets on the decisions in the audit log."""
    del executor  # the policies alone show it
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "policies"
        shutil.copytree(config.policy.dir, root, ignore=shutil.ignore_patterns(SIGNATURE_DIR))
        store = _signed_store(gateway, root, Path(folder) / "keys")
        signed = store.engine.digest
        (root / "cedar" / "unsigned-change.cedar").write_text(UNSIGNED_CHANGE, encoding="utf-8")
        outcome = store.reload()
        click.echo(click.style("\nAn unsigned change to the signed bundle", bold=True))
        click.echo(f"  > reload refused: {outcome.error}")
        kept = "stays" if store.engine.digest == signed else "does NOT stay"
        click.echo(f"  > the last good bundle {kept} in force: {store.engine.digest}")
        candidate = root.parent / "candidate"
        shutil.copytree(config.policy.dir, candidate, ignore=shutil.ignore_patterns(SIGNATURE_DIR))
        (candidate / "cedar" / "tighter-resets.cedar").write_text(TIGHTER_RESETS, encoding="utf-8")
        engine = PolicyEngine(load_bundle(candidate))
    if gateway.audit is None:
        click.echo("no audit log: nothing to replay the candidate against")
        return
    public = load_public_key(config.audit.signing_key.with_name(PUBLIC_KEY_FILE))
    with audit_log_file(config) as log:  # an export when the log is in PostgreSQL
        records = read_decision_log(log, public, origin=config.audit.name)
        records = open_sealed_facts(records, config.privacy.key_store, config.storage)
        _print_impact(analyse_impact(records, engine, gateway.directory))


def _signed_store(gateway: Gateway, root: Path, keys: Path) -> PolicyStore:
    """``root`` signed by a fresh security key, in force in a store trusting that key."""
    _, _, signer = init_keys(keys, stem=SIGNER)
    bundle = load_bundle(root)
    if gateway.audit is not None:
        record_first(
            gateway.audit.append,
            AuditEvent(
                type=POLICY_SIGNED,
                actor="demo",
                resource=f"policy_bundle:{root.name}",
                payload={"digest": bundle.digest, "signer": SIGNER, "key_id": signer.key_id},
            ),
        )
    write_signature(root, sign_digest(signer, SIGNER, bundle.digest))
    trust = BundleTrust((TrustedKey(SIGNER, signer.public_key),), 1)
    audit = gateway.audit.append if gateway.audit is not None else None
    store = PolicyStore(root, audit=audit, trust=trust)
    click.echo(click.style("\nThe bundle signed by the security team", bold=True))
    click.echo(f"  > {bundle.digest} {trust.check(root, bundle.digest).describe()}")
    return store


def _print_impact(report: ImpactReport) -> None:
    click.echo(
        click.style("\nImpact of a candidate: only the helpdesk resets passwords", bold=True)
    )
    click.echo(
        f"  > {report.replayed} past decisions replayed ({report.distinct_requests} distinct, "
        f"{report.on_recorded_facts} on the facts their record keeps), "
        f"{report.not_replayable} not replayable"
    )
    if not report.groups:
        click.echo("  > no decision would change")
    for group in report.groups:
        click.echo(f"  > {group.action}: {group.change.replace('_', ' ')} x{group.count} "
                   f"(after: {', '.join(group.after) or '-'})")  # fmt: skip
        for example in group.examples:
            click.echo(f"      #{example['seq']} {example['actor']} on {example['resource']}")
