"""``gateway offline``: field kits for on-site work, and merging what was done offline."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from gateway.app import Gateway, open_services
from gateway.app.offline import OfflineGateway, kit_directory, queueable
from gateway.approvals.model import approval_digest
from gateway.audit.records import AuditEvent
from gateway.audit.sink import record_first
from gateway.audit.store import AuditStore
from gateway.cli.output import emit, json_option
from gateway.cli.pairs import KeyValue
from gateway.clock import utcnow
from gateway.config import GatewayConfig
from gateway.devices.inventory import InventoryFile
from gateway.enforcement import PolicyDeniedError
from gateway.errors import AuditWriteError, ConfigError, ExitCode
from gateway.offline.prepare import KitSources, PreparedKit, prepare_kit, revoke_kit
from gateway.offline.registry import ACTION_QUEUED
from gateway.offline.replay import make_replay
from gateway.offline.segment import close_segment
from gateway.offline.sync import QueuedAction, SyncOutcome, sync_segment
from gateway.policy.decision import Decision, StepUpObligation
from gateway.policy.request import AccessRequest
from gateway.yaml_source import load_yaml_model

__all__ = ["offline", "parse_validity"]

_VALIDITY = re.compile(r"([1-9][0-9]{0,4})([hd])")


def parse_validity(text: str) -> timedelta:
    """``72h`` or ``3d``."""
    match = _VALIDITY.fullmatch(text.strip())
    if match is None:
        raise click.BadParameter(f"expected hours or days such as 72h or 3d, found {text!r}")
    number, unit = int(match.group(1)), match.group(2)
    return timedelta(hours=number) if unit == "h" else timedelta(days=number)


def kit_sources(config: GatewayConfig, gateway: Gateway) -> KitSources:
    """What a kit is made of, as the central gateway is configured."""
    directory = kit_directory(config, gateway.directory)
    inventory_path = config.selfservice.catalog / config.selfservice.inventory
    inventory = (
        load_yaml_model(inventory_path, InventoryFile, "invalid device inventory")[0]
        if inventory_path.is_file()
        else InventoryFile()
    )
    return KitSources(
        bundle=gateway.policies.engine.bundle,
        directory=directory,
        inventory=inventory,
        workflows=config.runtime.workflows,
        trees=config.troubleshooting.trees,
        central_actions=tuple(config.offline.central_actions),
        max_valid=timedelta(hours=config.offline.max_valid_hours),
        stepup_issuer=config.stepup.issuer,
    )


def _central(config: GatewayConfig) -> None:
    if config.offline.kit is not None:
        raise ConfigError("kits are prepared, revoked and merged on the central gateway")


def _central_log(gateway: Gateway) -> AuditStore:
    if gateway.audit is None:
        raise AuditWriteError("field kits need the audit log: they are enrolled in it")
    return gateway.audit


@click.group()
def offline() -> None:
    """Field kits: decide, act and audit on site without the central gateway."""


@offline.command()
@click.option("--technician", required=True, help="Who takes the kit on site.")
@click.option("--site", required=True, help="The site visited (people's location).")
@click.option("--valid", "validity", default="72h", show_default=True, help="e.g. 72h, 3d.")
@click.option("--by", default=None, metavar="ACTOR", help="Who prepares it (the technician).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="The kit file (default: a new file under [offline] kits).",
)
@json_option
@click.pass_obj
def prepare(
    config: GatewayConfig,
    technician: str,
    site: str,
    validity: str,
    by: str | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Make a signed field kit for TECHNICIAN visiting SITE: the policy bundle in force,
    the site's facts, the workflows and trees allowed offline and a new device key,
    enrolled in the central log. Decided by policy (offline.prepare) and audited first.
    The kit holds a private key: keep it like one. Exit 3 when the policy refuses."""
    _central(config)
    valid = parse_validity(validity)
    gateway = Gateway.from_config(config)
    try:
        prepared = prepare_kit(
            gateway,
            _central_log(gateway),
            kit_sources(config, gateway),
            technician=technician,
            site=site,
            valid=valid,
            actor=by or technician,
            now=utcnow(),
            out=out if out is not None else config.offline.kits,
        )
    finally:
        gateway.close()
    emit(prepared, as_json, human=_print_prepared)


def _print_prepared(prepared: PreparedKit) -> None:
    manifest = prepared.manifest
    click.echo(f"kit {manifest.kit_id} for {manifest.technician} at {manifest.site}")
    click.echo(f"  file       {prepared.path} (holds the device's private key)")
    click.echo(f"  valid      {manifest.issued} .. {manifest.expires}")
    click.echo(f"  device key {manifest.device_key_id} (enrolled by record {prepared.record_seq})")
    click.echo(f"  facts      {prepared.people} people, {prepared.devices} devices")
    if prepared.stepup_uri is not None:
        click.echo(
            f"  step-up    for {manifest.technician} on this kit only, until {manifest.expires};"
            " add to an authenticator app (shown once):"
        )
        click.echo(f"    {prepared.stepup_uri.get_secret_value()}")


@offline.command()
@click.argument("kit_id")
@click.option("--by", required=True, metavar="ACTOR", help="Who revokes it.")
@click.option("--reason", default="revoked", show_default=True, help="Why, for the record.")
@json_option
@click.pass_obj
def revoke(config: GatewayConfig, kit_id: str, by: str, reason: str, as_json: bool) -> None:
    """Revoke the kit KIT_ID: segments signed with its device key are refused from now on.
    Decided by policy (offline.revoke) and audited."""
    _central(config)
    gateway = Gateway.from_config(config)
    try:
        seq = revoke_kit(
            gateway, _central_log(gateway), kit_id, actor=by, reason=reason,
            quarantine=config.offline.quarantine, storage=gateway.storage,
        )  # fmt: skip
    finally:
        gateway.close()
    emit(
        {"kit_id": kit_id, "revoked_by": by, "record": seq},
        as_json,
        human=lambda _: click.echo(f"kit {kit_id} revoked (record {seq})"),
    )


@offline.command()
@click.option("--actor", required=True, help="Who acts.")
@click.option("--action", required=True, help="The policy action, e.g. password.reset.")
@click.option("--resource", required=True, help="TYPE:ID, e.g. account:tom.")
@click.option("--queue", is_flag=True, help="Queue it in the segment when only offline refuses it.")
@click.option("--workflow", default=None, help="The workflow to run when it is replayed.")
@click.option(
    "--param", "params", multiple=True, type=KeyValue(json_values=True), help="Its parameters."
)
@json_option
@click.pass_obj
def request(
    config: GatewayConfig,
    actor: str,
    action: str,
    resource: str,
    queue: bool,
    workflow: str | None,
    params: tuple[tuple[str, Any], ...],
    as_json: bool,
) -> None:
    """Decide a request on the field kit (gateway --offline KIT offline request ...). What
    needs a central system or approvals by others is refused offline; with --queue it is
    recorded in the segment and replayed, with a fresh decision, when the segment is synced.
    Exit 3 when refused (and not queued)."""
    if config.offline.kit is None:
        raise ConfigError("offline request runs on a field kit: gateway --offline KIT ...")
    gateway = Gateway.from_config(config)
    try:
        result = request_offline(
            gateway, actor, action, resource, queue=queue, workflow=workflow, params=params
        )
    finally:
        gateway.close()
    emit(result, as_json, human=lambda r: click.echo(f"{r['outcome']}: {r['message']}"))


def request_offline(
    gateway: Gateway,
    actor: str,
    action: str,
    resource: str,
    *,
    queue: bool,
    workflow: str | None = None,
    params: tuple[tuple[str, Any], ...] = (),
) -> dict[str, str]:
    """Decide on the kit; queue a refusal that only being offline caused when asked."""
    asked = AccessRequest(actor=actor, action=action, resource=resource, context={"channel": "cli"})
    decision = gateway.authorize(asked)
    if decision.allowed:
        _meet_step_up(gateway, asked, decision)
        return {"outcome": "allowed", "decision_id": decision.decision_id, "message": "allow"}
    reasons = tuple(reason.message for reason in decision.reasons if reason.effect != "note")
    if not (queue and queueable(decision)):
        hint = ("use --queue to queue it",) if queueable(decision) else ()
        raise PolicyDeniedError(action, resource, reasons + hint, decision.decision_id)
    record_first(
        _central_log(gateway).append,
        AuditEvent(
            type=ACTION_QUEUED,
            actor=actor,
            action=action,
            resource=resource,
            decision_id=decision.decision_id,
            policy_digest=decision.policy_digest,
            payload={
                "context": {"channel": "cli"},
                "refused": list(reasons),
                "workflow": workflow,
                "parameters": dict(params),
            },
        ),
    )
    return {
        "outcome": "queued",
        "decision_id": decision.decision_id,
        "message": f"{action} on {resource} queued until the segment is synced",
    }


def _meet_step_up(gateway: Gateway, request: AccessRequest, decision: Decision) -> None:
    """Refuse an allow whose step-up the actor has not given for this very request (the
    kit's step-up, bound to the request's digest, used up by this decision)."""
    digest = approval_digest(request)
    for obligation in decision.obligations:
        if not isinstance(obligation, StepUpObligation):
            continue
        stepup = gateway.stepup
        if stepup is not None and stepup.claim(
            obligation, request.actor, bound_to=digest, consumer=decision.decision_id
        ):
            continue
        why = (
            f"the policy demands a step-up (totp) within {obligation.max_age_seconds}s "
            f"[{obligation.policy}]; step up with: gateway --offline KIT stepup verify "
            f"--user {request.actor} --bound-to {digest}"
        )
        raise PolicyDeniedError(request.action, str(request.resource), (why,), decision.decision_id)


@offline.command("close-segment")
@click.option("--by", default=None, metavar="ACTOR", help="Who closes it, for the record.")
@json_option
@click.pass_obj
def close_segment_command(config: GatewayConfig, by: str | None, as_json: bool) -> None:
    """On a field kit (gateway --offline KIT offline close-segment): end the current
    segment with an offline.segment_closed record and move it aside as
    <kit>.segment-N.log, to be synced; later work goes on in a new segment chained from
    its last record."""
    if config.offline.kit is None:
        raise ConfigError("close-segment runs on a field kit: gateway --offline KIT ...")
    gateway = Gateway.from_config(config)
    try:
        if not isinstance(gateway, OfflineGateway):  # pragma: no cover - a kit builds one
            raise ConfigError("close-segment runs on a field kit")
        closed = close_segment(gateway.segment, by)
    finally:
        gateway.close()
    result = {"closed": str(closed.path), "records": closed.records, "first": closed.first,
              "head_hash": closed.head_hash}  # fmt: skip
    emit(
        result,
        as_json,
        human=lambda r: click.echo(
            f"segment closed: {r['closed']} ({r['records']} records); sync it, work goes on "
            "in a new segment"
        ),
    )


@offline.command()
@click.argument("segment", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kit", "kit_id", default=None, help="The kit id the segment must belong to.")
@click.option("--by", default="svc-gateway", show_default=True, help="Who merges it.")
@json_option
@click.pass_obj
def sync(config: GatewayConfig, segment: Path, kit_id: str | None, by: str, as_json: bool) -> None:
    """Verify SEGMENT (a kit's local audit log) and merge it into the central log, then
    replay its queued actions with fresh decisions. A segment that does not verify is kept
    aside in [offline] quarantine, recorded as offline.segment_refused and alerted; exit 1
    then. Syncing the same segment again changes nothing."""
    _central(config)
    with open_services(config) as services:
        audit = _central_log(services.gateway)

        def run_workflow(item: QueuedAction) -> dict[str, Any]:
            runtime = services.runtime
            started = runtime.start(
                str(item.workflow),
                item.parameters,
                actor=item.actor,
                channel="offline_sync",
                idempotency_key=f"{item.kit_id}:{item.index}",
            )
            execution = runtime.advance(started.id)
            return {"id": execution.id, "state": str(execution.state)}

        outcome = sync_segment(
            segment,
            audit=audit,
            quarantine=config.offline.quarantine,
            now=utcnow(),
            actor=by,
            notifier=services.notifier,
            kit_id=kit_id,
            replay=make_replay(services.gateway, audit.append, run_workflow),
            storage=services.gateway.storage,
        )
    emit(outcome, as_json, human=_print_sync)
    if outcome.status == "refused":
        raise SystemExit(ExitCode.FAILED)


def _print_sync(outcome: SyncOutcome) -> None:
    if outcome.status == "refused":
        click.echo(f"refused: {outcome.reason}", err=True)
        click.echo(f"kept aside as {outcome.quarantined} (record {outcome.record})", err=True)
        return
    click.echo(
        f"{outcome.status}: kit {outcome.kit_id} segment {outcome.segment}, "
        f"{outcome.records} records (record {outcome.record})"
    )
    for conflict in outcome.conflicts:
        on_site, seqs = conflict["segment_record"], conflict["central_records"]
        click.echo(
            f"  conflict: {conflict['resource']} changed on site (segment record "
            f"{on_site['index']}, merged by record {on_site['merged_by']}) and centrally "
            f"(records {', '.join(str(c['seq']) for c in seqs)}): offline.conflict record "
            f"{conflict['record']}"
        )
    for item in outcome.replayed:
        line = f"  replayed {item['action']} on {item['resource']}: {item['decision']}"
        if item["decision"] != "allow":
            line += f" ({'; '.join(item['reasons'])})"
        click.echo(line)
        if "conflict" in item:
            click.echo(f"    conflict: {item['conflict']}")
