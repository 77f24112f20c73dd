"""The branch-office visit of ``gateway demo``: a field kit, work without the central
gateway, then a verified merge.

Elena takes a kit to branch 7 (its uplink is down): she runs diagnostics on Tom's laptop
(decided with the kit, recorded in its segment), steps up with the code her authenticator
shows for the kit's own enrolment to take local admin rights on it (a used code is
refused), Tom's password reset is refused offline and queued; back online the segment is
verified and merged, the reset is decided again on current facts and run, and a tampered
copy of the segment is refused naming its first bad record.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import click
import pyotp
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from gateway.app import Gateway
from gateway.app.offline import OfflineGateway, offline_config
from gateway.app.troubleshooting import open_troubleshooting
from gateway.approvals.model import approval_digest
from gateway.audit.keys import Signer
from gateway.cli.offline import kit_sources, request_offline
from gateway.clock import utcnow
from gateway.config import GatewayConfig
from gateway.enforcement import PolicyDeniedError
from gateway.offline.prepare import prepare_kit
from gateway.offline.replay import make_replay
from gateway.offline.sync import QueuedAction, sync_segment
from gateway.policy.request import AccessRequest
from gateway.runtime.executor import Executor
from gateway.stepup.errors import StepUpError

__all__ = ["run_offline_scenario"]

TREE = "network-connectivity"


def run_offline_scenario(config: GatewayConfig, gateway: Gateway, executor: Executor) -> None:
    """Print a branch visit: kit, offline work, merge, replay, a tampered segment."""
    audit = gateway.audit
    if audit is None:
        click.echo("  (no audit log: field kits are enrolled in it)")
        return
    with tempfile.TemporaryDirectory() as folder:
        kit_path = Path(folder) / "branch-7.kit.json"
        kit = prepare_kit(
            gateway, audit, kit_sources(config, gateway), technician="elena", site="branch-7",
            valid=timedelta(hours=72), actor="elena", now=utcnow(),
            out=kit_path,
        )  # fmt: skip
        manifest = kit.manifest
        click.echo(
            f"  > kit {manifest.kit_id} for elena at branch-7: {kit.people} people, "
            f"{kit.devices} devices, device key {manifest.device_key_id} enrolled"
        )
        if kit.stepup_uri is not None:
            click.echo(
                "  > elena adds the kit's own step-up enrolment to her authenticator "
                f"(valid until {manifest.expires}, never in a record)"
            )
        click.echo("  > the uplink is down: decisions come from the kit alone")
        laptop = _laptop(config, audit.signer, Path(folder))
        segment = _work_offline(laptop, kit_path, kit.stepup_uri)
        click.echo(f"  > back online: merging {segment.name}")

        def run_workflow(item: QueuedAction) -> dict[str, str]:
            started = executor.start(
                str(item.workflow), item.parameters, actor=item.actor, channel="offline_sync",
                idempotency_key=f"{item.kit_id}:{item.index}",
            )  # fmt: skip
            execution = executor.advance(started.id)
            return {"id": execution.id, "state": str(execution.state)}

        quarantine = Path(folder) / "quarantine"
        outcome = sync_segment(
            segment, audit=audit, quarantine=quarantine, now=utcnow(), actor="svc-gateway",
            replay=make_replay(gateway, audit.append, run_workflow), storage=gateway.storage,
        )  # fmt: skip
        click.echo(f"  > {outcome.status}: {outcome.records} records (record {outcome.record})")
        for item in outcome.replayed:
            ran = item.get("execution", {}).get("state", "not run")
            click.echo(
                f"  > replayed {item['action']} on {item['resource']}: {item['decision']} "
                f"(fresh decision on current facts), workflow {ran}"
            )
        tampered = Path(folder) / "tampered.segment.log"
        data = segment.read_bytes()
        tampered.write_bytes(data.replace(b'"actor":"elena"', b'"actor":"sam"', 1))
        refused = sync_segment(
            tampered, audit=audit, quarantine=quarantine, now=utcnow(), actor="svc-gateway",
            storage=gateway.storage,
        )  # fmt: skip
        click.echo(f"  > a tampered copy is refused: {refused.reason}")


def _laptop(config: GatewayConfig, central: Signer, folder: Path) -> GatewayConfig:
    """The laptop's configuration: it holds the central key in force (after a rotation,
    the new key, not the key auditors pin)."""
    path = folder / "central.pub"
    path.write_bytes(
        central.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    offline = config.offline.model_copy(update={"central_public_key": path})
    return config.model_copy(update={"offline": offline})


def _troubleshoot(kit_config: GatewayConfig, offline: OfflineGateway) -> None:
    engine = open_troubleshooting(kit_config, offline, None)
    try:
        if TREE not in engine.trees.ids():
            click.echo(f"  > (no {TREE} tree allowed offline: no troubleshooting)")
            return
        view = engine.start(TREE, technician="elena")
        view = engine.answer(view.session.id, "everyone_nearby")
    finally:
        engine.close()
    click.echo(
        f"  > troubleshooting {TREE} on the kit: {view.session.status}, {view.session.current}"
    )


def _step_up_on_site(offline: OfflineGateway, uri: SecretStr | None) -> None:
    """Local admin rights on Tom's laptop: the policy demands a step-up, checked against
    the kit's own enrolment; a code used once is refused."""
    action, resource = "device.local_admin", "host:tom-laptop"
    try:
        request_offline(offline, "elena", action, resource, queue=False)
    except PolicyDeniedError:
        click.echo("  > elena takes local admin rights on tom-laptop: refused until she steps up")
    stepup = offline.stepup
    if uri is None or stepup is None:
        return
    code = pyotp.TOTP(pyotp.parse_uri(uri.get_secret_value()).secret).now()  # her phone
    asked = AccessRequest(
        actor="elena", action=action, resource=resource, context={"channel": "cli"}
    )
    stepup.verify("elena", code, bound_to=approval_digest(asked))
    click.echo("  > she types the code her authenticator shows: accepted, checked on the laptop")
    allowed = request_offline(offline, "elena", action, resource, queue=False)
    click.echo(f"  > elena takes local admin rights on tom-laptop: {allowed['message']} (offline)")
    try:
        stepup.verify("elena", code)
    except StepUpError as exc:
        click.echo(f"  > the same code typed again: refused: {exc}")


def _work_offline(config: GatewayConfig, kit_path: Path, uri: SecretStr | None) -> Path:
    kit_config = offline_config(config, kit_path, utcnow())
    offline = OfflineGateway.from_config(kit_config)
    try:
        _troubleshoot(kit_config, offline)
        diagnostics = offline.authorize(
            AccessRequest(
                actor="elena", action="diagnostics.run", resource="host:tom-laptop",
                context={"channel": "cli"},
            )
        )  # fmt: skip
        click.echo(f"  > elena runs diagnostics on tom-laptop: {diagnostics.decision} (offline)")
        _step_up_on_site(offline, uri)
        try:
            request_offline(offline, "elena", "password.reset", "account:tom", queue=False)
        except PolicyDeniedError as exc:
            click.echo(f"  > elena resets tom's password: refused: {exc.reasons[0]}")
        queued = request_offline(
            offline, "elena", "password.reset", "account:tom", queue=True,
            workflow="password-reset", params=(("user", "tom"),),
        )  # fmt: skip
        click.echo(f"  > {queued['message']}")
        return offline.segment.path
    finally:
        offline.close()
