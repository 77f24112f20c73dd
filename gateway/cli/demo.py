"""``gateway demo``: the gateway's main job on embedded defaults, one scenario at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from gateway.app import Services, open_services
from gateway.app.audit import audit_log_file
from gateway.audit.checkpoints import verify_log_file
from gateway.audit.keys import PUBLIC_KEY_FILE, load_public_key
from gateway.changes.calendar import ChangeCalendar
from gateway.cli.demo_alerts import run_alerts_scenario
from gateway.cli.demo_changes import run_changes_scenario
from gateway.cli.demo_chat import run_chat_scenario
from gateway.cli.demo_knowledge import run_knowledge_scenario
from gateway.cli.demo_offline import run_offline_scenario
from gateway.cli.demo_policy import run_policy_scenario
from gateway.cli.demo_privacy import run_privacy_scenario
from gateway.cli.demo_selfservice import run_selfservice_scenario
from gateway.cli.demo_tickets import run_tickets_scenario
from gateway.cli.demo_troubleshooting import run_troubleshooting_scenario
from gateway.cli.demo_workflows import run_workflow_scenarios
from gateway.cli.executions import print_execution
from gateway.cli.output import emit, json_option
from gateway.cli.render import print_decision
from gateway.config import GatewayConfig
from gateway.errors import ExitCode, GatewayError
from gateway.policy.decision import Decision
from gateway.policy.request import AccessRequest

__all__ = ["FREEZE", "LATER_SCENARIOS", "SCENARIOS", "demo", "frozen_calendar"]

# The capabilities that ride on the runtime, each with its own story.
LATER_SCENARIOS = (
    ("Ticket-driven automation", run_tickets_scenario),
    ("Monitoring alerts", run_alerts_scenario),
    ("Change requests", run_changes_scenario),
    ("Guided troubleshooting", run_troubleshooting_scenario),
    ("Self-service catalog", run_selfservice_scenario),
    ("Approvals and self-service in chat", run_chat_scenario),
    ("Resolution documentation", run_knowledge_scenario),
    ("Policy lifecycle", run_policy_scenario),
    ("Branch-office visit (offline)", run_offline_scenario),
    ("Right to erasure", run_privacy_scenario),
)

# A scenario whose context holds this key is decided while the change calendar says a
# freeze is in force (the key itself is not sent: callers cannot claim a freeze).
FREEZE = "during_freeze"

# (what happens, actor, action, resource, context)
SCENARIOS: tuple[tuple[str, str, str, str, dict[str, object]], ...] = (
    (
        "Tom resets his own password",
        "tom",
        "password.reset",
        "account:tom",
        {"channel": "self_service"},
    ),
    (
        "Elena (helpdesk) resets Tom's password",
        "elena",
        "password.reset",
        "account:tom",
        {"ticket": "INC0010001"},
    ),
    (
        "Elena resets a domain admin's password",
        "elena",
        "password.reset",
        "account:sam",
        {"ticket": "INC0010002"},
    ),
    (
        "Lena, whose account is disabled, resets her password",
        "lena",
        "password.reset",
        "account:lena",
        {},
    ),
    (
        "Omar grants Tom 8 hours of payroll access",
        "omar",
        "access.grant",
        "account:tom",
        {"system": "payroll", "duration_hours": 8},
    ),
    (
        "Omar grants himself payroll access",
        "omar",
        "access.grant",
        "account:omar",
        {"system": "payroll"},
    ),
    (
        "Omar grants access during a change freeze (from the change calendar)",
        "omar",
        "access.grant",
        "account:tom",
        {"system": "payroll", FREEZE: True},
    ),
    ("Tom installs Visio (licensed)", "tom", "software.install", "software:visio", {}),
    (
        "Tom installs an unapproved torrent client",
        "tom",
        "software.install",
        "software:torrent-client",
        {},
    ),
    (
        "Elena runs network diagnostics on a printer",
        "elena",
        "diagnostics.run",
        "host:printer-3f",
        {},
    ),
    ("Tom runs network diagnostics", "tom", "diagnostics.run", "host:printer-3f", {}),
    ("Elena publishes a knowledge base article", "elena", "kb.publish", "article:vpn-reset", {}),
)


@click.command()
@json_option
@click.pass_obj
def demo(config: GatewayConfig, as_json: bool) -> None:
    """Decide the starter scenarios (password reset, access grant, software install,
    diagnostics, knowledge base) with the configured bundle and directory (--json: the
    decisions only, as an array)."""
    with open_services(config) as parts:
        _decide_and_run(config, parts, as_json)


def _decide_and_run(config: GatewayConfig, parts: Services, as_json: bool) -> None:
    gateway = parts.gateway
    calendar = gateway.changes
    decisions = []
    for _, actor, action, resource, scenario_context in SCENARIOS:
        context = {k: v for k, v in scenario_context.items() if k != FREEZE}
        request = AccessRequest.model_validate(
            {"actor": actor, "action": action, "resource": resource, "context": context}
        )
        if FREEZE in scenario_context:
            gateway.changes = frozen_calendar(config.audit.log.parent)
        decision = gateway.authorize(request)
        gateway.changes = calendar
        decisions.append(decision)
    emit(decisions, as_json, human=_print_decisions)
    if as_json:
        return
    allowed = sum(decision.allowed for decision in decisions)
    click.echo(
        f"\n{len(decisions)} decisions: {allowed} allowed, {len(decisions) - allowed} denied"
    )
    click.echo(f"policy bundle {gateway.policies.engine.digest}")
    click.echo(
        click.style("\nWhole automations through the guarded path", bold=True, underline=True)
    )
    executor = parts.runtime
    if executor.workflows.ids():
        executions = run_workflow_scenarios(gateway, executor, print_execution)
        states = ", ".join(f"{e.workflow} {e.state}" for e in executions)
        click.echo(f"\n{len(executions)} workflows: {states}")
        for title, scenario in LATER_SCENARIOS:
            click.echo(click.style(f"\n{title}", bold=True, underline=True))
            scenario(config, gateway, executor)
    else:
        click.echo(f"no workflows in {config.runtime.workflows}: run the demo from a checkout")
    if gateway.audit is not None:
        with audit_log_file(config) as log:  # an export when the log is in PostgreSQL
            _show_audit(log, config.audit.signing_key.with_name(PUBLIC_KEY_FILE))


def _print_decisions(decisions: list[Decision]) -> None:
    for (title, *_), decision in zip(SCENARIOS, decisions, strict=True):
        click.echo(click.style(f"\n{title}", bold=True))
        print_decision(decision)


def frozen_calendar(folder: Path) -> ChangeCalendar:
    """A change calendar (written to ``folder``) with a freeze in force for the next hour."""
    now = datetime.now(UTC)
    stamp = "%Y%m%dT%H%M%SZ"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo-freeze.ics"
    path.touch(mode=0o600)  # private, like every file the gateway makes under var/
    path.chmod(0o600)
    path.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//it-support-gateway//demo//EN\r\n"
        "BEGIN:VEVENT\r\nUID:demo-freeze\r\nSUMMARY:Demo change freeze\r\n"
        f"CATEGORIES:FREEZE\r\nDTSTAMP:{now:{stamp}}\r\n"
        f"DTSTART:{now - timedelta(minutes=1):{stamp}}\r\n"
        f"DTEND:{now + timedelta(hours=1):{stamp}}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    return ChangeCalendar(path)


def _show_audit(log: Path, public_key: Path) -> None:
    """Verify the audit log as an auditor would, with the public key alone."""
    click.echo(f"every decision was recorded in {log} before it was returned")
    try:
        result = verify_log_file(log, load_public_key(public_key))
    except GatewayError as exc:
        click.echo(f"audit log does not verify with {public_key}: {exc}", err=True)
        raise click.exceptions.Exit(int(ExitCode.FAILED)) from exc
    click.echo(
        f"audit log verified: {result.report.records} records, head {result.report.head_hash}"
    )
    click.echo(f"an auditor checks it with: gateway audit verify --log {log} --key {public_key}")
