"""The change request scenario of ``gateway demo``: a grant under change control.

``erp`` is under change control in the shipped policies: granting access to it needs a
change request.  The demo writes a change register with one approved change being
implemented in its window (``CHG0030001``), has the gateway check it, and asks for Omar's
grant of ERP access to Tom twice: under that change (allowed, with the manager's approval
still to come) and without one (refused).
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import click

from gateway.app import Gateway
from gateway.changes.requests import ChangeRegister, ChangeRequestStatus
from gateway.clock import utcnow
from gateway.config import GatewayConfig
from gateway.policy.request import AccessRequest
from gateway.runtime.executor import Executor

__all__ = ["run_changes_scenario"]

NUMBER = "CHG0030001"
STAMP = "%Y-%m-%d %H:%M:%S"


def run_changes_scenario(config: GatewayConfig, gateway: Gateway, executor: Executor) -> None:
    """Print a change-bound grant decided with an approved change and without one."""
    del config, executor  # the decisions alone show it
    click.echo(click.style("\nOmar grants Tom access to ERP (under change control)", bold=True))
    now = utcnow()
    with tempfile.TemporaryDirectory() as folder:  # the demo's register, gone after
        status = _check(Path(folder) / "changes.yaml", now)
    request = AccessRequest(
        actor="omar", action="access.grant", resource="account:tom", context={"system": "erp"}
    )
    under = gateway.authorize(request, gateway_context={"change_request": status.context()})
    found = "ready" if status.ready else status.problem
    click.echo(f"  > under {NUMBER} ({found}): {under.decision}")
    without = gateway.authorize(request)
    why = "; ".join(r.message for r in without.reasons if r.effect in ("deny", "forbid"))
    click.echo(f"  > without a change request: {without.decision}: {why}")


def _check(path: Path, now: datetime) -> ChangeRequestStatus:
    """The gateway's check of the demo's change, approved and in its window around now."""
    path.write_text(
        f'changes:\n  - number: {NUMBER}\n    approval: approved\n    state: "-1"\n'
        f'    start_date: "{now - timedelta(hours=1):{STAMP}}"\n'
        f'    end_date: "{now + timedelta(hours=8):{STAMP}}"\n',
        encoding="utf-8",
    )
    return ChangeRegister(path).check(NUMBER)
