"""The gateway's own administration of callers: tokens only for active people, and every
key made or revoked and every token issued recorded first, without its secret."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from gateway.audit.records import AuditEvent
from gateway.callers.administration import create_api_key, issue_token, revoke_api_key
from gateway.callers.api_keys import ApiKeyStore
from gateway.callers.errors import InactivePersonError
from gateway.callers.issuer import TokenIssuer
from gateway.callers.signing_key import load_signing_key
from gateway.errors import AuditWriteError, DirectoryUnavailableError
from gateway.identity.facts import AccountStatus, IdentityFacts
from gateway.identity.static import StaticDirectory

REPO = Path(__file__).resolve().parents[2]
DIRECTORY = REPO / "gateway" / "defaults" / "directory.yaml"


class Log:
    """An audit sink; ``broken`` makes it fail as an unwritable log does."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []
        self.broken = False

    def __call__(self, event: AuditEvent) -> None:
        if self.broken:
            raise AuditWriteError("audit.log: append failed: disk full")
        self.events.append(event)


class Statuses:
    """The sample directory with some people's status changed, or unreachable."""

    name = "statuses"

    def __init__(self, inner: StaticDirectory, **status: AccountStatus) -> None:
        self.inner = inner
        self.status = status
        self.down = False

    def get_user(self, user_id: str) -> IdentityFacts:
        if self.down:
            raise DirectoryUnavailableError("directory unavailable: ldap://dc1 timed out")
        facts = self.inner.get_user(user_id)
        changed = self.status.get(user_id, facts.status)
        return facts.model_copy(update={"status": changed})


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def store(tmp_path: Path) -> ApiKeyStore:
    return ApiKeyStore(tmp_path / "api-keys.db")


@pytest.fixture
def issuer(tmp_path: Path) -> TokenIssuer:
    return TokenIssuer(load_signing_key(tmp_path / "api-tokens.key"), audience="gateway")


@pytest.fixture(scope="module")
def directory() -> StaticDirectory:
    return StaticDirectory.load(DIRECTORY)


@pytest.mark.parametrize(
    "status", [AccountStatus.DISABLED, AccountStatus.LOCKED, AccountStatus.SUSPENDED]
)
def test_an_inactive_person_gets_no_token(
    issuer: TokenIssuer, directory: StaticDirectory, log: Log, status: AccountStatus
) -> None:
    with pytest.raises(InactivePersonError, match=f"^tom is {status} in the directory$") as caught:
        issue_token(issuer, Statuses(directory, tom=status), "tom", by="omar", audit=log)

    assert (caught.value.reason, caught.value.exit_code) == ("inactive_person", 3)
    assert log.events == []


def test_no_token_while_the_directory_cannot_say(
    issuer: TokenIssuer, directory: StaticDirectory, log: Log
) -> None:
    down = Statuses(directory)
    down.down = True

    with pytest.raises(DirectoryUnavailableError):
        issue_token(issuer, down, "tom", by="omar", audit=log)
    assert log.events == []


def test_a_token_is_recorded_by_its_id_before_it_is_returned(
    issuer: TokenIssuer, directory: StaticDirectory, log: Log
) -> None:
    issued = issue_token(issuer, directory, "tom", ["audit:read"], by="omar", audit=log)

    token = issued.token.get_secret_value()
    (event,) = log.events
    assert (event.type, event.actor, event.resource) == ("callers.token_issued", "omar", "user:tom")
    assert (
        event.payload["jti"]
        == issued.jti
        == jwt.decode(token, options={"verify_signature": False})["jti"]
    )
    assert event.payload["kid"] == issuer.kid
    assert token not in repr(event)
    log.broken = True
    with pytest.raises(AuditWriteError):
        issue_token(issuer, directory, "tom", by="omar", audit=log)


def test_a_key_the_log_cannot_record_is_not_kept(store: ApiKeyStore, log: Log) -> None:
    log.broken = True

    with pytest.raises(AuditWriteError):
        create_api_key(store, "ci-bot", ["audit:read"], by="sam", audit=log)

    assert store.list_keys() == []


def test_a_revocation_the_log_cannot_record_leaves_the_key_active(
    store: ApiKeyStore, log: Log
) -> None:
    issued = create_api_key(store, "ci-bot", ["audit:read"], by="sam", audit=log)
    log.broken = True

    with pytest.raises(AuditWriteError):
        revoke_api_key(store, "ci-bot", by="sam", audit=log)

    assert store.authenticate(issued.secret.get_secret_value()).name == "ci-bot"
    assert [event.type for event in log.events] == ["callers.api_key_created"]
    assert issued.secret.get_secret_value() not in repr(log.events)


def test_without_an_audit_log_the_changes_still_happen(store: ApiKeyStore) -> None:
    issued = create_api_key(store, "ci-bot", ["audit:read"], by="sam", audit=None)

    assert revoke_api_key(store, issued.key.id, by="sam", audit=None).revoked_at is not None
