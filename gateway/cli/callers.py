"""``gateway callers``: API keys for services and, from the embedded issuer, tokens for
people."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from gateway.app import build_directory
from gateway.callers.api_keys import ApiKey, ApiKeyStore
from gateway.callers.issuer import TokenIssuer
from gateway.callers.scopes import PERSON_DEFAULT_SCOPES, PERSON_ONLY_SCOPES, SCOPES
from gateway.config import GatewayConfig
from gateway.errors import ConfigError

__all__ = ["callers"]

_PERSON_ONLY = ", ".join(sorted(PERSON_ONLY_SCOPES))
_DEFAULT_TOKEN_SCOPES = " ".join(sorted(PERSON_DEFAULT_SCOPES))
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _describe(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "scopes": sorted(key.scopes),
        "state": key.state(datetime.now(UTC)),
        "created_at": _iso(key.created_at),
        "expires_at": _iso(key.expires_at),
        "last_used_at": _iso(key.last_used_at),
        "revoked_at": _iso(key.revoked_at),
    }


def _line(key: ApiKey) -> str:
    described = _describe(key)
    expiry = f", expires {described['expires_at']}" if key.expires_at else ""
    used = described["last_used_at"] or "never"
    return (
        f"{key.id}  {key.name:<20} {described['state']:<8} {' '.join(sorted(key.scopes))}"
        f"  (last used {used}{expiry})"
    )


@click.group()
def callers() -> None:
    """Who may call the HTTP API: API keys for services, tokens for people."""


@callers.command()
def scopes() -> None:
    """The scopes credentials may grant."""
    for name, meaning in SCOPES.items():
        click.echo(f"{name:<16} {meaning}")


@callers.group(name="api-key")
def api_key() -> None:
    """API keys for services (shown once; stored only as a hash)."""


@api_key.command()
@click.option("--name", required=True, help="What the key is for, e.g. ci-bot.")
@click.option(
    "--scope",
    "scope_names",
    multiple=True,
    required=True,
    type=click.Choice(sorted(SCOPES)),
    help=f"A scope the key grants; repeatable ({_PERSON_ONLY} are for people only).",
)
@click.option(
    "--expires-days", type=click.IntRange(min=1), default=None, help="Expire after N days."
)
@_JSON
@click.pass_obj
def create(
    config: GatewayConfig,
    name: str,
    scope_names: tuple[str, ...],
    expires_days: int | None,
    as_json: bool,
) -> None:
    """Make a key and print it once; only its hash is kept."""
    lifetime = timedelta(days=expires_days) if expires_days is not None else None
    store = ApiKeyStore(config.api.api_keys)
    try:
        issued = store.create(name, scope_names, expires_in=lifetime)
    finally:
        store.close()
    secret = issued.secret.get_secret_value()
    if as_json:
        click.echo(json.dumps({**_describe(issued.key), "key": secret}, indent=2))
        return
    click.echo(secret)
    click.echo(
        f"API key {issued.key.name} ({issued.key.id}) made; it is shown only now. Send it as "
        "'Authorization: Bearer KEY' or 'X-API-Key: KEY'.",
        err=True,
    )


@api_key.command(name="list")
@_JSON
@click.pass_obj
def list_keys(config: GatewayConfig, as_json: bool) -> None:
    """Every key with its scopes and state (never its secret)."""
    store = ApiKeyStore(config.api.api_keys)
    try:
        keys = store.list_keys()
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([_describe(key) for key in keys], indent=2))
        return
    for key in keys:
        click.echo(_line(key))
    if not keys:
        click.echo("no API keys")


@api_key.command()
@click.argument("key")
@_JSON
@click.pass_obj
def revoke(config: GatewayConfig, key: str, as_json: bool) -> None:
    """Revoke KEY (an active key's name, or a key id); at once, for every server."""
    store = ApiKeyStore(config.api.api_keys)
    try:
        revoked = store.revoke(key)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(_describe(revoked), indent=2))
        return
    click.echo(f"revoked {revoked.name} ({revoked.id})")


@callers.command()
@click.option("--user", required=True, help="The person (a directory user id).")
@click.option(
    "--scope",
    "scope_names",
    multiple=True,
    type=click.Choice(sorted(SCOPES)),
    help=f"A scope the token grants; repeatable (default: {_DEFAULT_TOKEN_SCOPES}).",
)
@click.option(
    "--ttl",
    type=click.IntRange(60, 86_400),
    default=None,
    help="Lifetime in seconds (default: [api] token_lifetime_seconds).",
)
@_JSON
@click.pass_obj
def token(
    config: GatewayConfig, user: str, scope_names: tuple[str, ...], ttl: int | None, as_json: bool
) -> None:
    """Issue a bearer token for USER from the embedded issuer (for the demo and tests;
    with an identity provider configured, people get tokens from it instead)."""
    settings = config.api
    if settings.token_issuer is not None:
        raise ConfigError(
            f"tokens come from {settings.token_issuer}; the embedded issuer is off "
            "([api] token_issuer is set)"
        )
    build_directory(config.identity).get_user(user)  # unknown users get no token
    issuer = TokenIssuer.from_config(settings)
    issued = issuer.issue(user, scope_names or PERSON_DEFAULT_SCOPES, ttl_seconds=ttl)
    value = issued.token.get_secret_value()
    if as_json:
        result = {
            "token": value,
            "user": user,
            "scopes": sorted(issued.scopes),
            "expires_at": _iso(issued.expires_at),
        }
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(value)
    click.echo(f"token for {user}, expires {_iso(issued.expires_at)}", err=True)
