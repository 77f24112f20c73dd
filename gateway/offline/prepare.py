"""``prepare_kit`` and ``revoke_kit``: decided, audited first, then done.

Preparing a kit: the policy decides ``offline.prepare`` on ``site:<id>``; the
``offline.kit_prepared`` record enrols the new device key, the kit id and its validity in
the central log; the kit, whose checkpoint is that very record, is then signed by the
central audit key and written.  A verifier needs only the central public key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from gateway.audit.keys import Signer, raw_public_key
from gateway.audit.records import AuditEvent, format_time
from gateway.audit.store import AuditStore
from gateway.definitions import definition_files
from gateway.devices.inventory import InventoryFile
from gateway.enforcement import Authorizer, PolicyDeniedError, require_allowed
from gateway.identity.static import StaticDirectoryFile
from gateway.offline.errors import KitError, OfflineError
from gateway.offline.kit import (
    Checkpoint,
    KitBody,
    KitFacts,
    KitPolicy,
    Manifest,
    seal_kit,
    write_kit,
)
from gateway.offline.kit_stepup import describe, issue_kit_stepup
from gateway.offline.merge_lock import merging
from gateway.offline.registry import KIT_PREPARED, KIT_REVOKED, KitRegistry
from gateway.offline.snapshot import DirectorySource, site_snapshot
from gateway.policy.bundle import PolicyBundle
from gateway.policy.signatures import SIGNATURE_DIR
from gateway.storage import Backend

__all__ = ["PREPARE", "REVOKE", "KitSources", "PreparedKit", "prepare_kit", "revoke_kit"]

PREPARE = "offline.prepare"
REVOKE = "offline.revoke"


@dataclass(frozen=True)
class KitSources:
    """Where a kit's contents come from."""

    bundle: PolicyBundle
    directory: StaticDirectoryFile | DirectorySource  # the file, or the source in force
    inventory: InventoryFile
    workflows: Path
    trees: Path
    central_actions: tuple[str, ...]
    max_valid: timedelta
    stepup_issuer: str = "IT Support Gateway"  # how authenticators name the kit's enrolment


@dataclass(frozen=True)
class PreparedKit:
    path: Path
    manifest: Manifest
    record_seq: int
    people: int
    devices: int
    # The technician's offline step-up enrolment, shown once (never recorded).
    stepup_uri: SecretStr | None = None

    def as_json(self) -> dict[str, object]:
        uri = self.stepup_uri
        return {
            "kit": str(self.path),
            **self.manifest.model_dump(mode="json"),
            "record": self.record_seq,
            "people": self.people,
            "devices": self.devices,
            "stepup_uri": None if uri is None else uri.get_secret_value(),
        }


def _definitions(folder: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """Every YAML definition under ``folder``: (relative name, text, data)."""
    found = []
    for path in definition_files(folder) if folder.is_dir() else []:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if isinstance(data, dict):
            found.append((path.relative_to(folder).as_posix(), text, data))
    return found


def _workflows_of(tree: dict[str, Any]) -> set[str]:
    """The workflows a tree's action nodes start."""
    nodes = tree.get("nodes")
    return {
        str(node["workflow"])
        for node in (nodes.values() if isinstance(nodes, dict) else ())
        if isinstance(node, dict) and "workflow" in node
    }


def _offline_definitions(workflows: Path, trees: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The trees that declare ``offline: true``; the workflows that do, and those the
    chosen trees start (their central steps are refused offline, and can be queued)."""
    chosen_trees = {name: (text, data) for name, text, data in _definitions(trees)
                    if data.get("offline") is True}  # fmt: skip
    needed = set().union(*(_workflows_of(data) for _, data in chosen_trees.values()))
    chosen_workflows = {
        name: text
        for name, text, data in _definitions(workflows)
        if data.get("offline") is True or data.get("id") in needed
    }
    return chosen_workflows, {name: text for name, (text, _) in chosen_trees.items()}


def _policy(bundle: PolicyBundle) -> KitPolicy:
    root = bundle.root
    files = {name: (root / name).read_text(encoding="utf-8") for name in bundle.files}
    signature_dir = root / SIGNATURE_DIR
    signatures = (
        {
            f"{SIGNATURE_DIR}/{path.name}": path.read_text(encoding="utf-8")
            for path in sorted(signature_dir.glob("*.sig.json"))
        }
        if signature_dir.is_dir()
        else {}
    )
    return KitPolicy(digest=bundle.digest, files=files, signatures=signatures)


def _refuse_obligations(action: str, resource: str, decision_id: str, kinds: set[str]) -> None:
    if kinds:
        why = f"the policy demands {', '.join(sorted(kinds))}, which a kit cannot wait for"
        raise PolicyDeniedError(action, resource, (why,), decision_id)


def prepare_kit(
    gateway: Authorizer,
    audit: AuditStore,
    sources: KitSources,
    *,
    technician: str,
    site: str,
    valid: timedelta,
    actor: str,
    now: datetime,
    out: Path,
) -> PreparedKit:
    """Decide, audit, then write a kit for ``technician`` visiting ``site``."""
    if valid <= timedelta(0) or valid > sources.max_valid:
        hours = int(sources.max_valid.total_seconds() // 3600)
        raise OfflineError(f"kit validity must be more than 0 and at most {hours}h")
    snapshot = site_snapshot(sources.directory, sources.inventory, site=site, technician=technician)
    resource = f"site:{site}"
    decision = require_allowed(
        gateway, actor=actor, action=PREPARE, resource=resource, context={"channel": "cli"}
    )
    _refuse_obligations(
        PREPARE, resource, decision.decision_id, {item.type for item in decision.obligations}
    )
    device = Signer.generate()
    manifest = Manifest(
        kit_id=f"kit-{secrets.token_hex(8)}",
        technician=technician,
        site=site,
        issued=format_time(now),
        expires=format_time(now + valid),
        central_key_id=audit.signer.key_id,
        device_key_id=device.key_id,
        device_public_key=raw_public_key(device.public_key).hex(),
        central_actions=list(sources.central_actions),
    )
    policy = _policy(sources.bundle)
    workflows, trees = _offline_definitions(sources.workflows, sources.trees)
    stepup, stepup_uri = issue_kit_stepup(technician, manifest.kit_id, sources.stepup_issuer)
    record = audit.append(
        AuditEvent(
            type=KIT_PREPARED,
            actor=actor,
            action=PREPARE,
            resource=resource,
            decision_id=decision.decision_id,
            policy_digest=policy.digest,
            payload={
                **manifest.model_dump(mode="json"),
                "policy_digest": policy.digest,
                "people": len(snapshot.people),
                "devices": len(snapshot.devices),
                "workflows": sorted(workflows),
                "trees": sorted(trees),
                "stepup": describe(stepup, manifest.expires),  # issued: never the seed
            },
        )
    )
    pem = device.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    body = KitBody(
        manifest=manifest,
        policy=policy,
        facts=KitFacts(directory=snapshot.directory, devices=snapshot.devices),
        workflows=workflows,
        trees=trees,
        device_private_key=pem,
        checkpoint=Checkpoint(size=record.seq + 1, head_hash=record.hash),
        stepup=stepup,
    )
    path = out if out.suffix else out / f"{manifest.kit_id}.kit.json"
    write_kit(path, seal_kit(body, audit.signer))
    people, devices = len(snapshot.people), len(snapshot.devices)
    return PreparedKit(path, manifest, record.seq, people, devices, stepup_uri)


def revoke_kit(
    gateway: Authorizer,
    audit: AuditStore,
    kit_id: str,
    *,
    actor: str,
    reason: str,
    quarantine: Path,
    storage: Backend | None = None,
) -> int:
    """Decide and record the revocation of an enrolled kit; its segments are refused.

    It holds the merge turn (``gateway.offline.merge_lock``, on ``storage`` when ``audit``
    is the shared database's log, else in ``quarantine``) from reading the kit's state to
    appending the revocation, so a merge is either wholly before it (and merged) or wholly
    after it (and refused): never read before it and appended after it."""
    with merging(audit, storage, quarantine):
        registry = KitRegistry.read(audit.lines())
        if kit_id not in registry.kits:
            raise KitError("unknown", f"no kit {kit_id!r} is enrolled in the central log")
        if kit_id in registry.revoked:
            raise KitError(
                "revoked", f"kit {kit_id} was revoked by record {registry.revoked[kit_id]}"
            )
        resource = f"field_kit:{kit_id}"
        decision = require_allowed(
            gateway, actor=actor, action=REVOKE, resource=resource, context={"channel": "cli"}
        )
        record = audit.append(
            AuditEvent(
                type=KIT_REVOKED,
                actor=actor,
                action=REVOKE,
                resource=resource,
                decision_id=decision.decision_id,
                policy_digest=decision.policy_digest,
                payload={"kit_id": kit_id, "reason": reason},
            )
        )
    return record.seq
