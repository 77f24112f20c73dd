"""The gateway's own administration of who may call it, audited like any privileged change.

Making or revoking an API key and issuing a token each append a record to the audit log
*before* the change takes effect: inside the key store's transaction, before it commits, or
before the token is handed over.  A log that cannot be written raises ``AuditWriteError``
and nothing changes (no key row, no revocation, no token).  ``by`` names who did it (on
the command line ``--by NAME`` or ``os:<login>``).  Records hold a key's id and name, a
token's id (``jti``), scopes and expiry; never a key's secret or a token.

=========================== ============ ==========================================
event type                  resource     payload
=========================== ============ ==========================================
``callers.api_key_created`` api_key:ID   ``key_id``, ``name``, ``scopes``, ``expires_at``
``callers.api_key_revoked`` api_key:ID   ``key_id``, ``name``
``callers.token_issued``    user:PERSON  ``subject``, ``jti``, ``scopes``, ``expires_at``,
                                         ``kid`` (the signing key's id)
=========================== ============ ==========================================
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from gateway.audit.records import AuditEvent
from gateway.audit.sink import AuditSink, record_first
from gateway.callers.api_keys import ApiKey, ApiKeyStore, IssuedKey
from gateway.callers.issuer import IssuedToken, TokenIssuer
from gateway.callers.scopes import PERSON_DEFAULT_SCOPES
from gateway.callers.standing import verify_active_person
from gateway.identity.directory import DirectoryConnector

__all__ = [
    "API_KEY_CREATED",
    "API_KEY_REVOKED",
    "TOKEN_ISSUED",
    "create_api_key",
    "issue_token",
    "revoke_api_key",
]

API_KEY_CREATED = "callers.api_key_created"
API_KEY_REVOKED = "callers.api_key_revoked"
TOKEN_ISSUED = "callers.token_issued"  # noqa: S105 - an event type, not a token


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def create_api_key(
    store: ApiKeyStore,
    name: str,
    scopes: Iterable[str],
    *,
    by: str,
    audit: AuditSink | None,
    expires_in: timedelta | None = None,
) -> IssuedKey:
    """A new key, recorded as made ``by`` before its row is committed."""

    def record(key: ApiKey) -> None:
        payload = {
            "key_id": key.id,
            "name": key.name,
            "scopes": sorted(key.scopes),
            "expires_at": _iso(key.expires_at),
        }
        event = AuditEvent(
            type=API_KEY_CREATED, actor=by, resource=f"api_key:{key.id}", payload=payload
        )
        record_first(audit, event)

    return store.create(name, scopes, expires_in=expires_in, before_commit=record)


def revoke_api_key(
    store: ApiKeyStore, id_or_name: str, *, by: str, audit: AuditSink | None
) -> ApiKey:
    """Revoke a key, recorded as revoked ``by`` before the revocation is committed; a key
    already revoked is returned as it is, with no new record."""

    def record(key: ApiKey) -> None:
        payload = {"key_id": key.id, "name": key.name}
        event = AuditEvent(
            type=API_KEY_REVOKED, actor=by, resource=f"api_key:{key.id}", payload=payload
        )
        record_first(audit, event)

    return store.revoke(id_or_name, before_commit=record)


def issue_token(
    issuer: TokenIssuer,
    directory: DirectoryConnector,
    subject: str,
    scopes: Iterable[str] = PERSON_DEFAULT_SCOPES,
    *,
    by: str,
    audit: AuditSink | None,
    ttl_seconds: int | None = None,
) -> IssuedToken:
    """A token for a person the directory shows as active, recorded (by its ``jti``) as
    issued ``by`` before it is returned."""
    verify_active_person(directory, subject)
    issued = issuer.issue(subject, scopes, ttl_seconds=ttl_seconds)
    payload = {
        "subject": subject,
        "jti": issued.jti,
        "scopes": sorted(issued.scopes),
        "expires_at": _iso(issued.expires_at),
        "kid": issuer.kid,
    }
    event = AuditEvent(type=TOKEN_ISSUED, actor=by, resource=f"user:{subject}", payload=payload)
    record_first(audit, event)
    return issued
