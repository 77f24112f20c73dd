"""``gateway stepup``: enrol users in TOTP step-up and verify codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from gateway.app import open_audit_log, open_stepup
from gateway.config import GatewayConfig

__all__ = ["stepup"]


@click.group()
def stepup() -> None:
    """TOTP step-up verification: enrolment, codes, status."""


@stepup.command()
@click.option("--user", required=True, help="The user to enrol (a directory user id).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def enrol(config: GatewayConfig, user: str, as_json: bool) -> None:
    """Make a new TOTP seed for USER and print, once, the provisioning URI for an
    authenticator app and the one-time recovery codes. Replaces an earlier enrolment."""
    service = open_stepup(config.stepup, None)
    try:
        enrolment = service.enrol(user)
    finally:
        service.close()
    codes = [code.get_secret_value() for code in enrolment.recovery_codes]
    uri = enrolment.provisioning_uri.get_secret_value()
    if as_json:
        click.echo(json.dumps({"user": user, "provisioning_uri": uri, "recovery_codes": codes}))
        return
    click.echo(f"{user} enrolled{' (earlier enrolment replaced)' if enrolment.replaced else ''}")
    click.echo(f"add to an authenticator app: {uri}")
    click.echo("recovery codes (each works once; they are not shown again):")
    for code in codes:
        click.echo(f"  {code}")


@stepup.command()
@click.option("--user", required=True, help="Who is stepping up.")
@click.option(
    "--code", prompt=True, hide_input=True, help="The 6-digit code (prompted when absent)."
)
@click.option("--recovery", is_flag=True, help="The code is a one-time recovery code.")
@click.option(
    "--bound-to",
    default=None,
    metavar="DIGEST",
    help="Bind the step-up to one exact request (the digest a waiting execution shows).",
)
@click.pass_obj
def verify(
    config: GatewayConfig, user: str, code: str, recovery: bool, bound_to: str | None
) -> None:
    """Check a code for USER, recording the attempt in the audit log. Exit 0 when
    accepted, 3 when refused (wrong, reused, locked out), 4 when malformed or not
    enrolled."""
    audit = open_audit_log(config.audit) if config.audit.enabled else None
    service = open_stepup(config.stepup, audit)
    try:
        if recovery:
            service.verify_recovery_code(user, code, bound_to=bound_to)
        else:
            service.verify(user, code, bound_to=bound_to)
    finally:
        service.close()
        if audit is not None:
            audit.close()
    bound = f" (bound to {bound_to})" if bound_to else ""
    click.echo(f"step-up accepted for {user}{bound}")


@stepup.command()
@click.option("--user", required=True, help="The user to look up.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def status(config: GatewayConfig, user: str, as_json: bool) -> None:
    """Whether USER is enrolled, locked out, and when they last stepped up."""
    service = open_stepup(config.stepup, None)
    try:
        now = datetime.now(UTC)
        result = {
            "user": user,
            "enrolled": service.is_enrolled(user),
            "locked_until": _iso(service.locked_until(user, now)),
            "last_step_up": _iso(service.last_step_up(user)),
        }
    finally:
        service.close()
    if as_json:
        click.echo(json.dumps(result))
        return
    for key, value in result.items():
        click.echo(f"{key}: {value if value is not None else '-'}")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
