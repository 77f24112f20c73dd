"""The troubleshooting scenario of ``gateway demo``: a guided network session that is
interrupted and resumed.

Elena takes Tom's call: his laptop has no network.  The ticket already says it is on
Wi-Fi and whose it is, so those questions are skipped.  The call drops half way; the
gateway restarts; Elena resumes the session exactly where it stopped.  The fix (unlocking
Tom's account) runs as a workflow through the guarded runtime, decided and audited.
"""

from __future__ import annotations

import click

from gateway.app import Gateway, open_troubleshooting
from gateway.config import GatewayConfig
from gateway.runtime.executor import Executor
from gateway.troubleshooting.engine import TroubleshootingEngine
from gateway.troubleshooting.views import SessionView

__all__ = ["run_troubleshooting_scenario"]

TREE = "network-connectivity"
BEFORE_THE_CALL_DROPS = ("this_device", "yes", "yes", "no")
AFTER_RESUMING = ("wrong_password", "yes", "yes")


def _say(text: str) -> None:
    click.echo(f"  > {text}")


def _answer(engine: TroubleshootingEngine, view: SessionView, value: str) -> SessionView:
    asked = view.prompt.text if view.prompt is not None else view.session.current
    click.echo(f"  ? {asked}  -> {value}")
    return engine.answer(view.session.id, value)


def run_troubleshooting_scenario(
    config: GatewayConfig, gateway: Gateway, executor: Executor
) -> SessionView | None:
    """Run the scenario; the session as it ended (None when the trees are missing)."""
    click.echo(
        click.style("\nElena guides Tom through the network tree; the call drops", bold=True)
    )
    engine = open_troubleshooting(config, gateway, executor)
    try:
        if TREE not in engine.trees.ids():
            click.echo(f"no {TREE} tree in {config.troubleshooting.trees}: run from a checkout")
            return None
        view = engine.start(TREE, technician="elena", ticket="INC0020001",
                            facts={"connection": "wifi", "user": "tom"})  # fmt: skip
        _say("the ticket says Wi-Fi and names Tom: those questions are skipped")
        for value in BEFORE_THE_CALL_DROPS:
            view = _answer(engine, view, value)
        session_id = view.session.id
        _say(f"the call drops after {len(view.session.steps)} steps; session {session_id} "
             "is on disk")  # fmt: skip
    finally:
        engine.close()
    _say("the gateway restarts")
    engine = open_troubleshooting(config, gateway, executor)
    try:
        view = engine.resume(session_id)
        where = view.prompt.text if view.prompt else view.session.current
        _say(f"Elena resumes: back at {where!r}")
        for value in AFTER_RESUMING:
            view = _answer(engine, view, value)
        for step in view.session.steps:
            if step.node == "unlock-account" and isinstance(step.value, dict):
                _say(f"account-unlock ran through the guarded runtime: execution "
                     f"{step.value['execution']} {step.value['state']}")  # fmt: skip
        outcome = view.session.outcome or {}
        _say(f"{view.session.status}: {outcome.get('summary', view.session.current)}")
        return view
    finally:
        engine.close()
