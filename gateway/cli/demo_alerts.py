"""The monitoring scenario of ``gateway demo``: an Alertmanager alert starts a workflow.

The demo plays Alertmanager: a version 4 notification says ``printer-3f`` is down
(``TargetDown``).  The shipped ``target-down`` trigger routes it to ``alert-notify`` as the
monitoring account ``svc-gateway``, which tells the on-call person; the same notification
sent again starts nothing (the fingerprint was seen), and the resolved alert is recorded.
"""

from __future__ import annotations

import json
import uuid

import click

from gateway.app import Gateway, open_ticket_service
from gateway.config import GatewayConfig
from gateway.runtime.executor import Executor
from gateway.tickets.alertmanager import AlertIntake

__all__ = ["demo_notification", "run_alerts_scenario"]

ACTOR = "svc-gateway"


def _say(text: str) -> None:
    click.echo(f"  > {text}")


def demo_notification(fingerprint: str, status: str = "firing") -> bytes:
    """A notification as Alertmanager's ``webhook_config`` sends it (version 4)."""
    labels = {"alertname": "TargetDown", "instance": "printer-3f", "severity": "critical"}
    alert = {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "printer-3f does not answer"},
        "startsAt": "2026-12-07T08:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-07T08:20:00Z",
        "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=up+%3D%3D+0",
        "fingerprint": fingerprint,
    }
    return json.dumps(
        {
            "version": "4",
            "groupKey": '{}:{alertname="TargetDown"}',
            "truncatedAlerts": 0,
            "status": status,
            "receiver": "gateway",
            "groupLabels": {"alertname": "TargetDown"},
            "commonLabels": labels,
            "commonAnnotations": alert["annotations"],
            "externalURL": "http://alertmanager.example.com:9093",
            "alerts": [alert],
        }
    ).encode()


def run_alerts_scenario(config: GatewayConfig, gateway: Gateway, executor: Executor) -> None:
    """Print a monitoring alert starting a workflow, its repeat and its resolution."""
    click.echo(click.style("\nMonitoring says printer-3f is down", bold=True))
    service = open_ticket_service(config, gateway, executor)
    if service.alert_actor is None:  # the demo plays a configured [tickets.alertmanager]
        service.alert_actor = ACTOR
    intake = AlertIntake(service)
    headers = {"content-type": "application/json"}
    try:
        fingerprint = uuid.uuid4().hex[:16]
        for label, status in (("firing", "firing"), ("sent again", "firing"),
                              ("resolved", "resolved")):  # fmt: skip
            report = intake.receive(demo_notification(fingerprint, status), headers)
            for result in report.results:
                _say(f"alert {label}: {result.outcome}: {result.message}")
        service.flush_outbox()
    finally:
        service.close()
