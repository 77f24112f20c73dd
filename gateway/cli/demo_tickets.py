"""The ticket scenario of ``gateway demo``: a password reset asked for in a ticket.

On the embedded defaults: a replayed ticket file goes into the embedded help desk; Tom's
ticket is classified as a password reset for his own account and starts the guarded
workflow as Tom; the ticket is told to step up; Tom's authenticator app (played by the
demo) steps up bound to that exact reset; the reset runs; the ticket gets a comment with
the next steps and is resolved.  A second ticket, about a domain admin, stays with people
and says why; a broken line goes to the dead-letter store.
"""

from __future__ import annotations

import json
import uuid

import click
import pyotp

from gateway.app import Gateway, open_ticket_service
from gateway.config import GatewayConfig
from gateway.runtime.executor import Executor
from gateway.runtime.model import ExecutionState

__all__ = ["demo_ticket_lines", "run_tickets_scenario"]


def _say(text: str) -> None:
    click.echo(f"  > {text}")


def demo_ticket_lines(run: str) -> list[bytes]:
    """The replayed ticket file: two tickets and a line that is not JSON."""
    tickets = [
        {
            "event_id": f"demo-{run}-1",
            "ticket": {
                "id": f"DEMO-{run}-1",
                "subject": "I forgot my password",
                "description": "I came back from holiday and cannot log on. Please reset it.",
                "requester": {"email": "tom@example.com", "name": "Tom Becker"},
            },
        },
        {
            "event_id": f"demo-{run}-2",
            "ticket": {
                "id": f"DEMO-{run}-2",
                "subject": "Password reset for sam",
                "description": "Please reset the password of user: sam, he is travelling.",
                "requester": {"email": "elena@example.com"},
            },
        },
    ]
    return [json.dumps(item).encode() for item in tickets] + [b'{"ticket": ']


def run_tickets_scenario(config: GatewayConfig, gateway: Gateway, executor: Executor) -> None:
    """Print the password reset from a ticket, end to end."""
    click.echo(click.style("\nTom asks for a password reset in a ticket", bold=True))
    service = open_ticket_service(config, gateway, executor)
    try:
        run = uuid.uuid4().hex[:6]
        results = service.replay_lines(demo_ticket_lines(run))
        for result in results:
            _say(f"{result.ticket or 'a broken line'}: {result.outcome}: {result.message}")
        first = results[0]
        execution = first.execution
        service.flush_outbox()
        stepup = gateway.stepup
        if execution is None:
            _say("the reset did not start (see above): a person takes the ticket")
            return
        if execution.state is ExecutionState.AWAITING_STEP_UP and stepup is not None:
            enrolment = stepup.enrol("tom")
            code = pyotp.TOTP(enrolment.seed.get_secret_value()).now()
            stepup.verify("tom", code, bound_to=str((execution.waiting or {})["digest"]))
            _say("Tom steps up with his authenticator app, bound to this exact reset")
            execution = executor.advance(execution.id)
        service.follow_up()
        service.flush_outbox()
        _say(f"execution {execution.id}: {execution.status}")
        for entry in service.embedded.entries(str(first.ticket)):
            _say(f"ticket {first.ticket} {entry.kind}: {entry.text}")
        _say("the temporary password is in no ticket, log or record; Tom reads it once")
    finally:
        service.close()
