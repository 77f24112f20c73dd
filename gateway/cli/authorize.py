"""``gateway authorize``: ask for one decision."""

from __future__ import annotations

import re
from contextlib import closing

import click
from pydantic import JsonValue, ValidationError

from gateway.app import Gateway
from gateway.cli.output import emit, json_option
from gateway.cli.pairs import KeyValue
from gateway.cli.render import print_decision
from gateway.config import GatewayConfig
from gateway.errors import ExitCode, RequestError
from gateway.policy.request import AccessRequest

__all__ = ["authorize", "build_request"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def build_request(
    actor: str, action: str, resource: str, context: dict[str, JsonValue]
) -> AccessRequest:
    try:
        return AccessRequest.model_validate(
            {"actor": actor, "action": action, "resource": resource, "context": context}
        )
    except ValidationError as exc:
        detail = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in detail["loc"]) or "request"
        raise RequestError(f"--{field}: {detail['msg']}") from exc


@click.command()
@click.option("--actor", required=True, help="Who asks (a directory user id).")
@click.option("--action", required=True, help="What they want to do, e.g. password.reset.")
@click.option("--resource", required=True, help="On what, as TYPE:ID, e.g. account:tom.")
@click.option(
    "--context",
    "context_pairs",
    multiple=True,
    type=KeyValue(json_values=True),
    help="Request context, repeatable; JSON values keep their type.",
)
@json_option
@click.pass_obj
def authorize(
    config: GatewayConfig,
    actor: str,
    action: str,
    resource: str,
    context_pairs: tuple[tuple[str, JsonValue], ...],
    as_json: bool,
) -> None:
    """Decide one request. Exit 0 on allow, 3 on deny."""
    request = build_request(actor, action, resource, dict(context_pairs))
    with closing(Gateway.from_config(config)) as gateway:
        decision = gateway.authorize(request)
    emit(decision, as_json, human=print_decision)
    if not decision.allowed:
        raise click.exceptions.Exit(int(ExitCode.DENIED))
