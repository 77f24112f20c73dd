"""Build the troubleshooting engine from configuration, on the guarded runtime."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from gateway.config import GatewayConfig
from gateway.definitions import definition_files
from gateway.enforcement.point import EnforcementPoint
from gateway.errors import SourceError
from gateway.policy.request import AccessRequest
from gateway.troubleshooting.diagnostics import (
    DiagnosticRunner,
    MonitoringSource,
    Permit,
    default_checks,
    status_sources,
)
from gateway.troubleshooting.engine import TroubleshootingEngine, WorkflowStarter
from gateway.troubleshooting.store import SessionStore
from gateway.troubleshooting.tree import TreeCatalog
from gateway.yaml_source import load_yaml

__all__ = ["diagnostics_permit", "load_trees", "open_troubleshooting", "workflow_ids"]


def workflow_ids(folder: Path) -> list[str]:
    """The ids of the workflows in ``folder`` (action nodes must name one)."""
    found = []
    for path in definition_files(folder):
        try:
            data = load_yaml(path).data
        except SourceError:
            continue  # the runtime reports its own invalid files
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            found.append(data["id"])
    return found


def load_trees(config: GatewayConfig) -> TreeCatalog:
    """The configured trees, checked against the configured workflows."""
    settings = config.troubleshooting
    return TreeCatalog.load(settings.trees, workflow_ids(config.runtime.workflows))


def diagnostics_permit(gateway: EnforcementPoint) -> Permit:
    """Checks reaching a host are decided like any request: ``diagnostics.run`` on
    ``host:<target>`` for the technician, audited."""

    def permit(actor: str, target: str) -> str | None:
        host = target.split("://")[-1].split("/")[0].split(":")[0] or "unknown"
        try:
            request = AccessRequest.model_validate(
                {"actor": actor, "action": "diagnostics.run", "resource": f"host:{host}"}
            )
        except ValidationError:
            return f"{host!r} is not a host name the gateway can decide on"
        decision = gateway.authorize(request)
        return None if decision.allowed else "; ".join(r.message for r in decision.reasons)

    return permit


def open_troubleshooting(
    config: GatewayConfig, gateway: EnforcementPoint, workflows: WorkflowStarter | None
) -> TroubleshootingEngine:
    """The engine with the configured trees, store, checks and offline mode; actions go
    through ``workflows`` (the executor from ``gateway.app.open_runtime``) and ``gateway``
    decides who besides a session's technician may drive it.  The monitoring and asset
    checks answer from ``status_file``, read here: a missing or invalid one stops the start;
    with ``[troubleshooting.prometheus]`` the monitoring checks ask Prometheus instead."""
    settings = config.troubleshooting
    monitoring: MonitoringSource
    monitoring, assets = status_sources(settings.status_file)
    closers: list[Callable[[], None]] = []
    if settings.prometheus is not None:  # monitoring checks ask Prometheus
        from gateway.troubleshooting.prometheus import PrometheusMonitoring

        prometheus = PrometheusMonitoring(
            settings.prometheus.with_secrets("troubleshooting.prometheus")
        )
        monitoring, closers = prometheus, [prometheus.close]
    runner = DiagnosticRunner(
        default_checks(monitoring, assets),
        timeout_seconds=settings.diagnostic_timeout_seconds,
        offline=settings.offline,
        permit=diagnostics_permit(gateway),
        closers=closers,
    )
    audit = gateway.audit
    return TroubleshootingEngine(
        load_trees(config),
        SessionStore(settings.database, backend=getattr(gateway, "storage", None)),
        runner,
        workflows=workflows,
        audit=audit.append if audit is not None else None,
        authorizer=gateway,
    )
