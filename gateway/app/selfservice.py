"""Builds the self-service catalog from configuration (``[selfservice]``)."""

from __future__ import annotations

from gateway.clock import Clock, utcnow
from gateway.config import GatewayConfig
from gateway.devices.inventory import YamlDeviceInventory
from gateway.identity.static import StaticDirectoryFile
from gateway.runtime.executor import Executor
from gateway.selfservice.catalog import Catalog
from gateway.selfservice.inputs import ApprovedSoftware, InventoryDevices, ValueSource
from gateway.selfservice.service import CatalogGateway, SelfService
from gateway.selfservice.store import RunStore
from gateway.yaml_source import load_yaml_model

__all__ = ["listed_software", "open_selfservice"]


def listed_software(config: GatewayConfig) -> list[str]:
    """The titles the embedded directory file names (choices offered in help texts);
    whether one is approved is always asked of the configured directory."""
    if "static" not in config.identity.sources:
        return []
    model, _ = load_yaml_model(
        config.identity.static_file, StaticDirectoryFile, "invalid directory file"
    )
    return sorted(ref.partition(":")[2] for ref in model.resources if ref.startswith("software:"))


def open_selfservice(
    config: GatewayConfig,
    gateway: CatalogGateway,
    executor: Executor,
    *,
    clock: Clock | None = None,
) -> SelfService:
    """The catalog over the runtime ``executor``; close with ``service.close()``.  Approvers
    of a run are told through the runtime's own channel."""
    settings = config.selfservice
    catalog = Catalog.load(settings.catalog, executor.workflows)
    known = settings.catalog / settings.inventory
    inventory = YamlDeviceInventory.load(known) if known.exists() else YamlDeviceInventory({})
    sources: dict[str, ValueSource] = {
        "approved_software": ApprovedSoftware(gateway.directory, listed_software(config)),
        "devices": InventoryDevices(inventory),
    }
    audit = getattr(gateway, "audit", None)
    return SelfService(
        catalog,
        gateway,
        executor,
        RunStore(settings.database, backend=getattr(gateway, "storage", None)),
        inventory,
        sources,
        audit=audit.append if audit is not None else None,
        visibility_ttl=settings.visibility_cache_seconds,
        approval_opened=executor.approval_opened,  # told as the runtime tells them
        clock=clock or utcnow,
    )
