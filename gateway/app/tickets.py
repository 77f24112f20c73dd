"""``open_ticket_service``: the ticket service from configuration, over a running gateway
and runtime (the composition of ``gateway/tickets``)."""

from __future__ import annotations

from gateway.config import GatewayConfig
from gateway.devices.inventory import YamlDeviceInventory
from gateway.enforcement.point import EnforcementPoint
from gateway.runtime.executor import Executor
from gateway.tickets.alertmanager import AlertIntake
from gateway.tickets.catalog import SoftwareCatalog
from gateway.tickets.helpdesk import HelpDesk
from gateway.tickets.intake_limits import IntakeLimits
from gateway.tickets.jira import JiraDesk
from gateway.tickets.routing import ALERT_SOURCE, Router
from gateway.tickets.rules import TriggerSet, load_triggers
from gateway.tickets.service import Advance, TicketService
from gateway.tickets.servicenow import ServiceNowDesk
from gateway.tickets.store import TicketStore

__all__ = ["load_configured_triggers", "open_ticket_service"]


def load_configured_triggers(config: GatewayConfig, executor: Executor) -> TriggerSet:
    """The triggers of ``[tickets] triggers``, checked against the runtime's workflows."""
    workflows = {w.id: frozenset(w.definition.parameters) for w in executor.workflows}
    return load_triggers(config.tickets.triggers, workflows)


def open_ticket_service(
    config: GatewayConfig,
    gateway: EnforcementPoint,
    executor: Executor,
    *,
    advance: Advance = "inline",
) -> TicketService:
    """The configured ticket service; close it with ``close()``."""
    settings = config.tickets
    triggers = load_configured_triggers(config, executor)
    catalog = SoftwareCatalog.from_directory_file(config.identity.static_file)
    known = config.selfservice.catalog / config.selfservice.inventory  # asset tags -> devices
    assets = YamlDeviceInventory.load(known) if known.exists() else None
    desks: dict[str, HelpDesk] = {}
    if settings.servicenow is not None:
        desks["servicenow"] = ServiceNowDesk(settings.servicenow.with_secrets("tickets.servicenow"))
    if settings.jira is not None:
        desks["jira"] = JiraDesk(settings.jira.with_secrets("tickets.jira"))
    audit = gateway.audit
    service = TicketService(
        store=TicketStore(settings.database, backend=getattr(gateway, "storage", None)),
        router=Router(triggers, gateway.directory, catalog, assets),
        executor=executor,
        desks=desks,
        audit=audit.append if audit is not None else None,
        max_event_bytes=settings.max_event_bytes,
        advance=advance,
        limits=IntakeLimits(settings.unauthenticated_per_minute, settings.unauthenticated_burst),
    )
    if settings.alertmanager is not None:  # Alertmanager webhooks as a trigger source
        service.alert_actor = settings.alertmanager.actor
        service.replayers[ALERT_SOURCE] = AlertIntake(service).replay
    return service
