"""``gateway callers``: API keys for services and, from the embedded issuer, tokens for
people.

Making and revoking keys and issuing tokens are recorded in the audit log before they take
effect (``gateway.callers.administration``), naming who did it: ``--by NAME``, else the
operating system user as ``os:<login>``.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from gateway.app import build_directory
from gateway.app.audit import configured_audit_log
from gateway.audit.sink import AuditSink
from gateway.callers.administration import create_api_key, issue_token, revoke_api_key
from gateway.callers.api_keys import ApiKey, ApiKeyStore
from gateway.callers.errors import CallerRequestError
from gateway.callers.issuer import TokenIssuer
from gateway.callers.scopes import PERSON_DEFAULT_SCOPES, PERSON_ONLY_SCOPES, SCOPES
from gateway.cli.output import emit, json_option
from gateway.config import GatewayConfig
from gateway.errors import ConfigError

__all__ = ["callers"]

_PERSON_ONLY = ", ".join(sorted(PERSON_ONLY_SCOPES))
_DEFAULT_TOKEN_SCOPES = " ".join(sorted(PERSON_DEFAULT_SCOPES))
_BY = click.option(
    "--by",
    default=None,
    metavar="NAME",
    help="Who is doing this, for the audit log (default: os:<your login>).",
)
MAX_BY_LENGTH = 128


def _actor(by: str | None) -> str:
    """Who the audit record names: ``--by`` as given, else the operating system user."""
    if by is None:
        try:
            return f"os:{getpass.getuser()}"
        except (OSError, KeyError):  # no login name in the environment nor a passwd entry
            return f"os:uid-{os.getuid()}"
    if not 0 < len(by) <= MAX_BY_LENGTH or not by.isprintable():
        raise CallerRequestError(f"--by must be 1 to {MAX_BY_LENGTH} printable characters")
    return by


@contextmanager
def _audit_log(config: GatewayConfig) -> Iterator[AuditSink | None]:
    """The audit log's append, closed afterwards (``None`` when auditing is off)."""
    if not config.audit.enabled:
        yield None
        return
    # the log every gateway of this configuration writes (the shared one on PostgreSQL),
    # sealing personal fields as they do
    with configured_audit_log(config) as audit:
        yield audit.append


def _closing(thing: object) -> Callable[[], object]:
    closer = getattr(thing, "close", None)
    return closer if callable(closer) else (lambda: None)


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
@json_option
def scopes(as_json: bool) -> None:
    """The scopes credentials may grant."""
    emit(SCOPES, as_json, human=_print_scopes)


def _print_scopes(found: dict[str, str]) -> None:
    for name, meaning in found.items():
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
@_BY
@json_option
@click.pass_obj
def create(
    config: GatewayConfig,
    name: str,
    scope_names: tuple[str, ...],
    expires_days: int | None,
    by: str | None,
    as_json: bool,
) -> None:
    """Make a key and print it once; only its hash is kept.  Recorded in the audit log
    first (never the key); with the log unwritable no key is made (exit 5)."""
    lifetime = timedelta(days=expires_days) if expires_days is not None else None
    actor = _actor(by)
    with _audit_log(config) as audit:
        store = ApiKeyStore.configured(config.api.api_keys, config.storage)
        try:
            issued = create_api_key(
                store, name, scope_names, by=actor, audit=audit, expires_in=lifetime
            )
        finally:
            store.close()
    secret = issued.secret.get_secret_value()

    def human(_: object) -> None:
        click.echo(secret)
        click.echo(
            f"API key {issued.key.name} ({issued.key.id}) made; it is shown only now. Send it "
            "as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'.",
            err=True,
        )

    emit({**_describe(issued.key), "key": secret}, as_json, human=human)


@api_key.command(name="list")
@json_option
@click.pass_obj
def list_keys(config: GatewayConfig, as_json: bool) -> None:
    """Every key with its scopes and state (never its secret)."""
    store = ApiKeyStore.configured(config.api.api_keys, config.storage)
    try:
        keys = store.list_keys()
    finally:
        store.close()
    emit([_describe(key) for key in keys], as_json, human=lambda _: _print_keys(keys))


def _print_keys(keys: list[ApiKey]) -> None:
    for key in keys:
        click.echo(_line(key))
    if not keys:
        click.echo("no API keys")


@api_key.command()
@click.argument("key")
@_BY
@json_option
@click.pass_obj
def revoke(config: GatewayConfig, key: str, by: str | None, as_json: bool) -> None:
    """Revoke KEY (an active key's name, or a key id); at once, for every server.
    Recorded in the audit log first; with the log unwritable the key stays (exit 5)."""
    actor = _actor(by)
    with _audit_log(config) as audit:
        store = ApiKeyStore.configured(config.api.api_keys, config.storage)
        try:
            revoked = revoke_api_key(store, key, by=actor, audit=audit)
        finally:
            store.close()
    emit(
        _describe(revoked), as_json, human=lambda d: click.echo(f"revoked {d['name']} ({d['id']})")
    )


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
@_BY
@json_option
@click.pass_obj
def token(
    config: GatewayConfig,
    user: str,
    scope_names: tuple[str, ...],
    ttl: int | None,
    by: str | None,
    as_json: bool,
) -> None:
    """Issue a bearer token for USER from the embedded issuer (for the demo and tests;
    with an identity provider configured, people get tokens from it instead).

    USER must be in the directory (exit 4) and active there: disabled, locked or
    suspended people get none (exit 3).  The token's id is recorded in the audit log
    before it is shown; with the log unwritable no token is shown (exit 5)."""
    settings = config.api
    if settings.token_issuer is not None:
        raise ConfigError(
            f"tokens come from {settings.token_issuer}; the embedded issuer is off "
            "([api] token_issuer is set)"
        )
    actor = _actor(by)
    directory = build_directory(config.identity)
    try:
        with _audit_log(config) as audit:
            issued = issue_token(
                TokenIssuer.from_config(settings),
                directory,
                user,
                scope_names or PERSON_DEFAULT_SCOPES,
                by=actor,
                audit=audit,
                ttl_seconds=ttl,
            )
    finally:
        _closing(directory)()
    value = issued.token.get_secret_value()
    result = {
        "token": value,
        "user": user,
        "scopes": sorted(issued.scopes),
        "expires_at": _iso(issued.expires_at),
    }

    def human(_: object) -> None:
        click.echo(value)
        click.echo(f"token for {user}, expires {result['expires_at']}", err=True)

    emit(result, as_json, human=human)


def _add_table() -> None:
    from gateway.cli.authz_table import table

    callers.add_command(table)


_add_table()
