"""The gateway on a field kit: ``gateway --offline KIT ...`` builds this one.

``offline_config`` checks the kit (``load_kit``: fails closed when it is malformed,
foreign, tampered, not yet valid or expired), writes its contents next to it and returns
the configuration pointing at them, with the audit log replaced by the kit's segment.
``OfflineGateway`` decides with the kit's policy bundle and site facts only, appends every
decision and action to the segment (signed by the device key, chained from the central
checkpoint), checks step-up codes against the kit's own enrolment (``kit_stepup``), tells
the policy ``offline = true``, and refuses what cannot be done offline,
saying so: the kit's central actions (a central system) and decisions whose obligations
include approvals by others.  Such refusals can be queued.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import JsonValue

from gateway.app.directory import build_directory, load_directory_into_engines
from gateway.app.gateway import Gateway, open_policy_trust
from gateway.audit.keys import load_public_key
from gateway.changes.setup import open_change_calendar
from gateway.clock import utcnow
from gateway.config import GatewayConfig, load_config
from gateway.errors import ConfigError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.static import StaticDirectoryFile
from gateway.offline.kit import Kit, load_kit
from gateway.offline.kit_stepup import open_kit_stepup
from gateway.offline.mode import KitTrust, materialise, segment_path, stepup_path
from gateway.offline.segment import SegmentLog
from gateway.offline.snapshot import DirectorySource
from gateway.policy.decision import ApprovalObligation, Decision
from gateway.policy.request import AccessRequest
from gateway.policy.store import PolicyStore
from gateway.storage import open_backend
from gateway.yaml_source import load_yaml_model

__all__ = [
    "OFFLINE_REFUSAL",
    "OfflineGateway",
    "central_key_path",
    "central_public_key",
    "kit_directory",
    "offline_config",
    "open_kit",
    "queueable",
]

OFFLINE_REFUSAL = "offline:"  # how the refusals a queue may take begin
_CENTRAL_POLICY = "offline-central-"


def central_key_path(config: GatewayConfig) -> Path:
    """Where the key kits must be signed by is: ``[offline] central_public_key``, else the
    public key next to ``[audit] signing_key``."""
    return config.offline.central_public_key or config.audit.signing_key.with_suffix(".pub")


def central_public_key(config: GatewayConfig) -> Ed25519PublicKey:
    return load_public_key(central_key_path(config))


def open_kit(config: GatewayConfig, path: Path, now: datetime) -> Kit:
    return load_kit(path, central_public_key(config), now)


def kit_directory(
    config: GatewayConfig, people: DirectoryConnector
) -> StaticDirectoryFile | DirectorySource:
    """Where a kit's people come from: the static directory file when it is the only
    source (its group graph is kept), else ``people``, the identity source in force,
    with the privileged groups configured for it and the static file's resource facts."""
    identity = config.identity
    static = (
        load_yaml_model(identity.static_file, StaticDirectoryFile, "invalid directory file")[0]
        if "static" in identity.sources
        else None
    )
    if static is not None and identity.sources == ["static"]:
        return static
    privileged = [
        *identity.privileged_groups,
        *(identity.ldap.privileged_groups if identity.ldap is not None else ()),
        *(identity.okta.privileged_groups if identity.okta is not None else ()),
    ]
    resources = static.resources if static is not None else None
    return DirectorySource(people, tuple(dict.fromkeys(privileged)), resources)


def offline_config(
    config: GatewayConfig, kit_path: Path, now: datetime, segment: Path | None = None
) -> GatewayConfig:
    """``config`` for deciding with the kit at ``kit_path`` (checked at ``now``)."""
    kit = open_kit(config, kit_path, now)
    work = kit_path.with_name(kit_path.name + ".d")
    materialise(kit, work)
    segment = segment or segment_path(kit_path)
    return config.model_copy(
        update={
            "policy": config.policy.model_copy(update={"dir": work / "policies"}),
            "identity": config.identity.model_copy(
                update={
                    "sources": ["static"],
                    "authoritative": None,
                    "static_file": work / "directory.yaml",
                    "ldap": None,
                    "okta": None,
                }
            ),
            "audit": config.audit.model_copy(
                update={
                    "log": segment,
                    "signing_key": work / "device.key",
                    "create_key": False,
                    "unsafe_no_audit": False,
                }
            ),
            "runtime": config.runtime.model_copy(update={"workflows": work / "workflows"}),
            "troubleshooting": config.troubleshooting.model_copy(update={"trees": work / "trees"}),
            # no self-service catalog and no help desk on a kit: their workflows need the
            # central systems
            "selfservice": config.selfservice.model_copy(
                update={"catalog": work / "catalog", "inventory": work / "devices.yaml"}
            ),
            "tickets": config.tickets.model_copy(update={"enabled": False}),
            "offline": config.offline.model_copy(
                update={
                    "kit": kit_path,
                    "segment": segment,
                    "central_public_key": central_key_path(config),
                }
            ),
        }
    )


def queueable(decision: Decision) -> bool:
    """Whether ``decision`` is a deny only because the gateway is offline."""
    return not decision.allowed and any(
        reason.message.startswith(OFFLINE_REFUSAL)
        or (reason.policy or "").startswith(_CENTRAL_POLICY)
        for reason in decision.reasons
    )


class OfflineGateway(Gateway):
    """The enforcement point of a field kit."""

    kit: Kit
    segment: SegmentLog

    @classmethod
    def from_config(cls, config: GatewayConfig | None = None) -> OfflineGateway:
        config = config if config is not None else load_config()
        kit_path, segment_file = config.offline.kit, config.offline.segment
        if kit_path is None or segment_file is None:
            raise ConfigError("offline mode needs a kit: gateway --offline KIT ...")
        kit = open_kit(config, kit_path, utcnow())
        segment = SegmentLog(
            segment_file, kit.device_signer(), start_prev=kit.body.checkpoint.head_hash
        )
        inner = open_policy_trust(config) if config.policy.trusted_keys else None
        trust = KitTrust(kit.body.policy.digest, f"field kit {kit.manifest.kit_id}", inner)
        policies = PolicyStore(config.policy.dir, audit=segment.append, trust=trust)
        storage = open_backend(config.storage)
        stepup = (
            open_kit_stepup(
                kit, stepup_path(kit_path), config.stepup, audit=segment.append, clock=utcnow
            )
            if config.stepup.enabled
            else None
        )
        directory = build_directory(config.identity)
        load_directory_into_engines(policies, directory, config.identity)
        gateway = cls(
            policies,
            directory,
            segment,
            stale_tolerant_actions=frozenset(config.identity.stale_tolerant_actions),
            stepup=stepup,
            changes=open_change_calendar(config.changes.calendar),
        )
        gateway.storage = storage
        gateway.kit = kit
        gateway.segment = segment
        return gateway

    def gateway_context(self, actor: str) -> dict[str, JsonValue]:
        return {**super().gateway_context(actor), "offline": True}

    def authorize(
        self,
        request: AccessRequest,
        *,
        gateway_context: Mapping[str, JsonValue] | None = None,
    ) -> Decision:
        if request.action in self.kit.manifest.central_actions:
            message = (
                f"{OFFLINE_REFUSAL} {request.action} needs a central system, which a field "
                "kit cannot reach; queue it to run when the kit is synced"
            )
            marked = request.model_copy(update={"context": {**request.context, "offline": True}})
            return self._audited(self.decision_point.refuse(marked, message))
        return super().authorize(request, gateway_context=gateway_context)

    def _audited(self, decision: Decision, *args: Any, **kwargs: Any) -> Decision:
        if decision.allowed and any(
            isinstance(item, ApprovalObligation) for item in decision.obligations
        ):
            message = (
                f"{OFFLINE_REFUSAL} {decision.request.action} needs approval by others, "
                "which cannot be given offline; queue it to run when the kit is synced"
            )
            decision = self.decision_point.refuse(decision.request, message)
        return super()._audited(decision, *args, **kwargs)


Gateway.kit_gateway = OfflineGateway.from_config  # what Gateway.from_config builds on a kit
