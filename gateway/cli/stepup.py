"""``gateway stepup``: enrol users in TOTP step-up and verify codes."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import click

from gateway.app import Gateway, open_audit_log, open_stepup
from gateway.cli.output import emit, json_option
from gateway.config import GatewayConfig
from gateway.enforcement import PolicyDeniedError, require_allowed
from gateway.errors import ConfigError
from gateway.stepup.service import Enrolment, StepUpService
from gateway.storage import open_backend

__all__ = ["ENROL", "RESET", "stepup"]

ENROL = "stepup.enrol"  # a first enrolment
RESET = "stepup.reset"  # replacing an enrolment (a lost or compromised factor)


@click.group()
def stepup() -> None:
    """TOTP step-up verification: enrolment, codes, status."""


@stepup.command()
@click.option("--user", required=True, help="The person to enrol (a directory user id).")
@click.option(
    "--by",
    default=None,
    metavar="ACTOR",
    help="Who enrols (you); USER themself when absent. Decided by policy: stepup.enrol "
    "for a first enrolment, stepup.reset to replace one.",
)
@json_option
@click.pass_obj
def enrol(config: GatewayConfig, user: str, by: str | None, as_json: bool) -> None:
    """Make a new TOTP seed for USER and print, once, the provisioning URI for an
    authenticator app and the one-time recovery codes. Replacing an earlier enrolment
    revokes its recovery codes and every step-up made with it. Exit 3 when the policy
    refuses, 5 when the audit log cannot be written (nothing changes then)."""
    gateway = Gateway.from_config(config)
    try:
        enrolment = _enrol(gateway, config, user, by or user)
    finally:
        gateway.close()
    codes = [code.get_secret_value() for code in enrolment.recovery_codes]
    uri = enrolment.provisioning_uri.get_secret_value()
    replaced = " (earlier enrolment replaced)" if enrolment.replaced else ""

    def human(_: object) -> None:
        click.echo(f"{user} enrolled{replaced}")
        click.echo(f"add to an authenticator app: {uri}")
        click.echo("recovery codes (each works once; they are not shown again):")
        for code in codes:
            click.echo(f"  {code}")

    emit({"user": user, "provisioning_uri": uri, "recovery_codes": codes}, as_json, human=human)


def _enrol(gateway: Gateway, config: GatewayConfig, user: str, actor: str) -> Enrolment:
    """Decide ``actor`` enrolling ``user`` (audited), then enrol, audited first."""
    service = gateway.stepup or open_stepup(config.stepup, gateway.audit, gateway.storage)
    try:
        replacing = service.is_enrolled(user)
        action, resource = (RESET if replacing else ENROL), f"account:{user}"
        decision = require_allowed(
            gateway, actor=actor, action=action, resource=resource, context={"channel": "cli"}
        )
        if decision.obligations:
            kinds = ", ".join(sorted({item.type for item in decision.obligations}))
            why = f"the policy demands {kinds}, which an enrolment cannot wait for"
            raise PolicyDeniedError(action, resource, (why,), decision.decision_id)
        return service.enrol(user, by=actor, replacing=replacing, decision_id=decision.decision_id)
    finally:
        if service is not gateway.stepup:
            service.close()


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
@json_option
@click.pass_obj
def verify(
    config: GatewayConfig,
    user: str,
    code: str,
    recovery: bool,
    bound_to: str | None,
    as_json: bool,
) -> None:
    """Check a code for USER, recording the attempt in the audit log. Exit 0 when
    accepted, 3 when refused (wrong, reused, locked out), 4 when malformed or not
    enrolled."""
    if config.offline.kit is not None:  # a field kit: its own enrolment, its segment
        with closing(Gateway.from_config(config)) as gateway:
            _check(_kit_stepup(gateway), user, code, recovery, bound_to)
    else:
        storage = open_backend(config.storage)
        # the shared log when the state is in PostgreSQL
        audit = (
            open_audit_log(config.audit, config.privacy, storage) if config.audit.enabled else None
        )
        service = open_stepup(config.stepup, audit, storage)
        try:
            _check(service, user, code, recovery, bound_to)
        finally:
            service.close()
            storage.close()
            if audit is not None:
                audit.close()
    bound = f" (bound to {bound_to})" if bound_to else ""
    accepted = {"user": user, "accepted": True, "bound_to": bound_to}
    emit(accepted, as_json, human=lambda _: click.echo(f"step-up accepted for {user}{bound}"))


def _check(
    service: StepUpService, user: str, code: str, recovery: bool, bound_to: str | None
) -> None:
    if recovery:
        service.verify_recovery_code(user, code, bound_to=bound_to)
    else:
        service.verify(user, code, bound_to=bound_to)


def _kit_stepup(gateway: Gateway) -> StepUpService:
    if gateway.stepup is None:
        raise ConfigError("step-up is disabled ([stepup] enabled = false)")
    return gateway.stepup


@stepup.command()
@click.option("--user", required=True, help="The user to look up.")
@json_option
@click.pass_obj
def status(config: GatewayConfig, user: str, as_json: bool) -> None:
    """Whether USER is enrolled, locked out, and when they last stepped up."""
    if config.offline.kit is not None:  # a field kit: its own enrolment
        with closing(Gateway.from_config(config)) as gateway:
            result = _status(_kit_stepup(gateway), user)
    else:
        storage = open_backend(config.storage)
        service = open_stepup(config.stepup, None, storage)
        try:
            result = _status(service, user)
        finally:
            service.close()
            storage.close()
    emit(result, as_json, human=_print_status)


def _status(service: StepUpService, user: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "user": user,
        "enrolled": service.is_enrolled(user),
        "locked_until": _iso(service.locked_until(user, now)),
        "last_step_up": _iso(service.last_step_up(user)),
    }


def _print_status(result: dict[str, Any]) -> None:
    for key, value in result.items():
        click.echo(f"{key}: {value if value is not None else '-'}")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
