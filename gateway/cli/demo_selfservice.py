"""The self-service scenario of ``gateway demo``: Tom installs software through the catalog.

Tom finds the install item, dry-runs it, installs 7zip on his own laptop (through the
guarded runtime and the device manager; he is notified), asks for it on Priya's laptop
and is refused with the reason, and runs into his daily quota.  The usage report ends it.
"""

from __future__ import annotations

import click

from gateway.app import open_selfservice
from gateway.config import GatewayConfig
from gateway.runtime.executor import Executor
from gateway.selfservice import RunRefusedError
from gateway.selfservice.service import CatalogGateway

__all__ = ["run_selfservice_scenario"]

ITEM = "install-software"


def _say(text: str) -> None:
    click.echo(f"  > {text}")


def run_selfservice_scenario(
    config: GatewayConfig, gateway: CatalogGateway, executor: Executor
) -> None:
    """Print the scenario as it happens, on the configured (embedded) systems."""
    click.echo("Self-service: Tom installs software from the catalog")
    service = open_selfservice(config, gateway, executor)
    try:
        found = service.browser.browse("tom", "install")
        _say(f"Tom searches the catalog for 'install': {', '.join(i.id for i in found)}")
        plan = service.dry_run("tom", ITEM, {"title": "7zip", "devices": "tom-laptop"})
        verdict = "would run" if plan.as_json()["would_run"] else "would be refused"
        _say(f"dry run: {verdict}; nothing executed; {'; '.join(plan.guardrails)}")
        attempts = [
            ("7zip on his own laptop", {"title": "7zip", "devices": "tom-laptop"}),
            ("7zip on Priya's laptop", {"title": "7zip", "devices": "priya-laptop"}),
            ("7zip on his desktop", {"title": "7zip", "devices": "tom-desktop"}),
            ("7zip on his laptop again", {"title": "7zip", "devices": "tom-laptop"}),
            ("7zip on his laptop once more", {"title": "7zip", "devices": "tom-laptop"}),
        ]
        for what, given in attempts:
            try:
                run = service.run("tom", ITEM, given)
            except RunRefusedError as exc:
                _say(f"Tom asks for {what}: REFUSED ({exc.reason}): {exc.detail}")
                continue
            _say(f"Tom asks for {what}: {run.state.upper()} ({run.status})")
        report = service.usage().items[ITEM]  # the dry run alone puts it there
        refused = ", ".join(f"{k} {v}" for k, v in sorted(report.refusals.items()))
        _say(
            f"usage of {ITEM}: {report.runs} runs, {report.succeeded} succeeded, "
            f"{report.minutes_saved} minutes saved, refused: {refused or 'none'}"
        )
    finally:
        service.close()
