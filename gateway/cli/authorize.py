"""``gateway authorize``: ask for one decision."""

from __future__ import annotations

import json
import re

import click
from pydantic import JsonValue, ValidationError

from gateway.app import Gateway
from gateway.cli.render import decision_json, print_decision
from gateway.config import GatewayConfig
from gateway.errors import ExitCode, RequestError
from gateway.policy.request import AccessRequest

__all__ = ["authorize", "parse_context"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_context(pairs: tuple[str, ...]) -> dict[str, JsonValue]:
    """``KEY=VALUE`` pairs; a VALUE that is JSON (true, 42, "x", [..]) keeps its type."""
    context: dict[str, JsonValue] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not _KEY.fullmatch(key):
            raise RequestError(
                f"--context: expected KEY=VALUE with KEY an identifier, found {pair!r}"
            )
        try:
            value: JsonValue = json.loads(raw)
        except ValueError:
            value = raw
        context[key] = value
    return context


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
    metavar="KEY=VALUE",
    help="Request context, repeatable; JSON values keep their type.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the decision as one JSON object.")
@click.pass_obj
def authorize(
    config: GatewayConfig,
    actor: str,
    action: str,
    resource: str,
    context_pairs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Decide one request. Exit 0 on allow, 3 on deny."""
    request = build_request(actor, action, resource, parse_context(context_pairs))
    decision = Gateway.from_config(config).authorize(request)
    if as_json:
        click.echo(decision_json(decision))
    else:
        print_decision(decision)
    if not decision.allowed:
        raise click.exceptions.Exit(int(ExitCode.DENIED))
