"""How decisions look on a terminal (``gateway.cli.output`` prints them as JSON)."""

from __future__ import annotations

import click

from gateway.policy.decision import ApprovalObligation, Decision, Obligation

__all__ = ["describe_obligation", "print_decision"]


def describe_obligation(obligation: Obligation) -> str:
    if isinstance(obligation, ApprovalObligation):
        who = ", ".join(obligation.approvers)
        return f"approval: {obligation.quorum} of [{who}] [{obligation.policy}]"
    return (
        f"step-up ({obligation.method}) within {obligation.max_age_seconds}s [{obligation.policy}]"
    )


def print_decision(decision: Decision) -> None:
    request = decision.request
    colour = "green" if decision.allowed else "red"
    verdict = click.style(decision.decision.upper(), fg=colour, bold=True)
    click.echo(f"{verdict}  {request.actor} {request.action} {request.resource}")
    for obligation in decision.obligations:
        click.echo(f"  must: {describe_obligation(obligation)}")
    for reason in decision.reasons:
        label = f"{reason.engine}/{reason.effect}"
        click.echo(f"  why:  {label:<14} {reason.message}")
    for remedy in decision.remedies:
        click.echo(f"  fix:  {remedy}")
    click.echo(f"  id:   {decision.decision_id}  bundle {decision.policy_digest[:19]}")
