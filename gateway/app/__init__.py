"""The composition root: builds the gateway's parts from configuration, nothing else.

``open_services(config)`` gives a process its parts, each built once; the builders below
are what it composes, for callers (tests, benchmarks) that assemble parts by hand.
No capability imports this package: each receives what it needs.
"""

from gateway.app.directory import build_directory
from gateway.app.gateway import Gateway, open_approvals, open_audit_log, open_stepup
from gateway.app.knowledge import open_destinations, open_knowledge
from gateway.app.notifier import build_notifier
from gateway.app.offline import OfflineGateway
from gateway.app.runtime import background_jobs, open_runtime
from gateway.app.selfservice import listed_software, open_selfservice
from gateway.app.services import Services, open_services, ticket_jobs
from gateway.app.tickets import load_configured_triggers, open_ticket_service
from gateway.app.troubleshooting import (
    diagnostics_permit,
    load_trees,
    open_troubleshooting,
    workflow_ids,
)

__all__ = [
    "Gateway",
    "OfflineGateway",
    "Services",
    "background_jobs",
    "build_directory",
    "build_notifier",
    "diagnostics_permit",
    "listed_software",
    "load_configured_triggers",
    "load_trees",
    "open_approvals",
    "open_audit_log",
    "open_destinations",
    "open_knowledge",
    "open_runtime",
    "open_selfservice",
    "open_services",
    "open_stepup",
    "open_ticket_service",
    "open_troubleshooting",
    "ticket_jobs",
    "workflow_ids",
]
