"""The workflow scenarios of ``gateway demo``: whole automations through the guarded path.

Each scenario starts a shipped workflow on the embedded defaults and shows how the
decision, its obligations (a step-up, an approval, an approval by policy) and the audit
log carry it to the end.  People's parts are played by the demo: Tom's authenticator app
(a TOTP code from a fresh enrolment) and Priya's approval vote.
"""

from __future__ import annotations

from collections.abc import Callable

import click
import pyotp

from gateway.app import Gateway
from gateway.runtime.errors import TargetConflictError
from gateway.runtime.executor import Executor
from gateway.runtime.model import Execution, ExecutionState

__all__ = ["run_workflow_scenarios"]

DEMO_CHANNEL = "demo"
Show = Callable[[Execution], None]


def _say(text: str) -> None:
    click.echo(f"  > {text}")


def _clear_leftovers(executor: Executor) -> None:
    """An earlier demo that was interrupted may have left an execution on the same target."""
    for execution in executor.recent(limit=1000):
        if execution.channel == DEMO_CHANNEL and not execution.state.finished:
            executor.cancel(execution.id, "demo")


def _self_service_reset(gateway: Gateway, executor: Executor, show: Show) -> Execution:
    started = executor.start("password-reset", {"user": "tom"}, actor="tom", channel=DEMO_CHANNEL)
    waiting = executor.advance(started.id)
    show(waiting)
    stepup = gateway.stepup
    if waiting.state is not ExecutionState.AWAITING_STEP_UP or stepup is None:
        return waiting
    enrolment = stepup.enrol("tom")
    code = pyotp.TOTP(enrolment.seed.get_secret_value()).now()
    digest = str((waiting.waiting or {})["digest"])
    stepup.verify("tom", code, bound_to=digest)
    _say("Tom enters the code from his authenticator app, bound to this exact reset")
    done = executor.advance(started.id)
    show(done)
    if done.state is ExecutionState.SUCCEEDED:
        password = executor.reveal(done.id, "temporary_password", "tom")
        _say(
            f"Tom reads his temporary password once ({len(password)} characters); "
            "it is in no log, message or record"
        )
    return done


def _approved_grant(gateway: Gateway, executor: Executor, show: Show) -> Execution:
    started = executor.start(
        "access-grant",
        {"user": "tom", "system": "payroll", "duration_hours": 8},
        actor="omar",
        channel=DEMO_CHANNEL,
    )
    waiting = executor.advance(started.id)
    show(waiting)
    approvals = gateway.approvals
    details = waiting.waiting or {}
    if waiting.state is not ExecutionState.PENDING_APPROVAL or approvals is None:
        return waiting
    approvals.approve(str(details["approval_id"]), "priya", digest=str(details["digest"]))
    _say("Priya, Tom's manager, approves the exact request she was shown")
    done = executor.advance(started.id)
    show(done)
    for step in done.steps:
        if step.step_id == "expire" and step.output:
            _say(f"the access is revoked automatically at {step.output['due_at']}")
    return done


def _auto_approved_install(gateway: Gateway, executor: Executor, show: Show) -> Execution:
    started = executor.start(
        "software-install",
        {"title": "visio", "device": "elena-laptop"},
        actor="elena",
        channel=DEMO_CHANNEL,
    )
    done = executor.advance(started.id)
    show(done)
    _say("a licensed title needs approval; the on-call rule in policy approved it, audited")
    return done


def _refused_install(gateway: Gateway, executor: Executor, show: Show) -> Execution:
    started = executor.start(
        "software-install",
        {"title": "torrent-client", "device": "tom-laptop"},
        actor="tom",
        channel=DEMO_CHANNEL,
    )
    done = executor.advance(started.id)
    show(done)
    return done


SCENARIOS = (
    ("Tom resets his own password (self-service, step-up)", _self_service_reset),
    ("Omar grants Tom 8 hours of payroll access (manager approval)", _approved_grant),
    ("Elena, on call, installs Visio on her laptop (approved by policy)", _auto_approved_install),
    ("Tom asks for an unapproved torrent client", _refused_install),
)


def run_workflow_scenarios(gateway: Gateway, executor: Executor, show: Show) -> list[Execution]:
    """Run every scenario; the executions as they ended."""
    _clear_leftovers(executor)
    results = []
    for title, scenario in SCENARIOS:
        click.echo(click.style(f"\n{title}", bold=True))
        try:
            results.append(scenario(gateway, executor, show))
        except TargetConflictError as exc:
            _say(f"skipped: {exc}")
    return results
