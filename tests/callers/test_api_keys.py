"""API keys: shown once, stored as a hash, refused when unknown, revoked or expired."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.callers import ApiKeyStore, AuthenticationError, CallerKind
from gateway.callers.errors import CallerRequestError, CallerStoreError
from gateway.storage import Backend

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "api-keys.db"


@pytest.fixture
def store(path: Path, clock: Clock, storage_backend: Backend) -> Iterator[ApiKeyStore]:
    """The store on SQLite and on PostgreSQL."""
    made = ApiKeyStore(path, backend=storage_backend, clock=clock)
    yield made
    made.close()


@pytest.fixture
def file_store(path: Path, clock: Clock) -> ApiKeyStore:
    """The store in its SQLite file, for what only a file shows."""
    return ApiKeyStore(path, clock=clock)


def test_a_key_is_shown_once_and_stored_only_as_a_hash(file_store: ApiKeyStore, path: Path) -> None:
    store = file_store
    issued = store.create("ci-bot", ["decisions:write", "audit:read"])
    secret = issued.secret.get_secret_value()

    assert secret.startswith(f"gwk_{issued.key.id}_")
    assert len(secret) == 4 + 16 + 1 + 64
    assert secret not in repr(issued)
    store.close()
    stored = b"".join(part.read_bytes() for part in path.parent.iterdir())
    assert secret.encode() not in stored
    assert secret.rsplit("_", 1)[1].encode() not in stored


def test_a_key_authenticates_its_service_with_its_scopes(store: ApiKeyStore) -> None:
    issued = store.create("ci-bot", ["decisions:write", "audit:read"])

    caller = store.authenticate(issued.secret.get_secret_value())

    assert (caller.kind, caller.id, caller.name) == (CallerKind.API_KEY, issued.key.id, "ci-bot")
    assert caller.scopes == {"decisions:write", "audit:read"}
    assert caller.label == "api-key:ci-bot"
    assert not caller.is_person


@pytest.mark.parametrize(
    ("presented", "reason", "message"),
    [
        ("gwk_short", "malformed_key", "API key is malformed"),
        ("gwk_" + "a" * 16 + "_" + "b" * 64, "unknown_key", "unknown API key"),
    ],
    ids=["a malformed key", "a key nobody made"],
)
def test_malformed_and_unknown_keys_are_refused(
    store: ApiKeyStore, presented: str, reason: str, message: str
) -> None:
    with pytest.raises(AuthenticationError, match=f"^{message}$") as refused:
        store.authenticate(presented)

    assert refused.value.reason == reason


def test_a_wrong_secret_for_a_real_id_is_refused_like_an_unknown_key(store: ApiKeyStore) -> None:
    issued = store.create("ci-bot", ["audit:read"])
    wrong = f"gwk_{issued.key.id}_" + "0" * 64

    with pytest.raises(AuthenticationError, match=r"^unknown API key$"):
        store.authenticate(wrong)


def test_a_revoked_key_is_refused_and_revoking_twice_changes_nothing(store: ApiKeyStore) -> None:
    issued = store.create("ci-bot", ["audit:read"])

    revoked = store.revoke("ci-bot")
    again = store.revoke(issued.key.id)

    assert revoked.revoked_at == again.revoked_at == START
    with pytest.raises(AuthenticationError, match=r"is revoked$") as refused:
        store.authenticate(issued.secret.get_secret_value())
    assert refused.value.reason == "revoked_key"


def test_an_expired_key_is_refused(store: ApiKeyStore, clock: Clock) -> None:
    issued = store.create("nightly", ["audit:read"], expires_in=timedelta(days=1))
    clock.now = START + timedelta(days=1)

    with pytest.raises(AuthenticationError, match=r"is expired$") as refused:
        store.authenticate(issued.secret.get_secret_value())

    assert refused.value.reason == "expired_key"
    assert store.list_keys()[0].state(clock.now) == "expired"


def test_last_use_is_recorded_at_most_once_a_minute(store: ApiKeyStore, clock: Clock) -> None:
    secret = store.create("ci-bot", ["audit:read"]).secret.get_secret_value()

    store.authenticate(secret)
    clock.now = START + timedelta(seconds=30)
    store.authenticate(secret)
    first = store.list_keys()[0].last_used_at
    clock.now = START + timedelta(minutes=2)
    store.authenticate(secret)

    assert first == START
    assert store.list_keys()[0].last_used_at == START + timedelta(minutes=2)


def test_the_list_shows_every_key_without_secrets(store: ApiKeyStore, clock: Clock) -> None:
    store.create("ci-bot", ["audit:read"])
    clock.now = START + timedelta(hours=1)
    store.create("nightly", ["decisions:write"], expires_in=timedelta(days=30))
    store.revoke("ci-bot")

    keys = store.list_keys()

    assert [(key.name, key.state(clock.now)) for key in keys] == [
        ("ci-bot", "revoked"),
        ("nightly", "active"),
    ]
    assert keys[1].expires_at == START + timedelta(hours=1, days=30)


def test_a_name_is_reusable_once_its_key_is_revoked(store: ApiKeyStore) -> None:
    store.create("ci-bot", ["audit:read"])
    with pytest.raises(CallerRequestError, match="an active API key is already named 'ci-bot'"):
        store.create("ci-bot", ["audit:read"])
    store.revoke("ci-bot")

    assert store.create("ci-bot", ["audit:read"]).key.name == "ci-bot"


@pytest.mark.parametrize(
    ("name", "scopes", "expires", "message"),
    [
        ("CI Bot", ["audit:read"], None, "API key name must be 1 to 64"),
        ("ci-bot", [], None, "an API key needs at least one scope"),
        ("ci-bot", ["audit:write"], None, "unknown scope 'audit:write'"),
        ("ci-bot", ["approvals:write"], None, "scope approvals:write is for people only"),
        ("ci-bot", ["audit:read"], timedelta(0), "lifetime must be positive"),
    ],
    ids=["a name with spaces", "no scope", "an unknown scope", "a person-only scope",
         "no lifetime"],
)  # fmt: skip
def test_bad_requests_for_keys_are_refused(
    store: ApiKeyStore,
    name: str,
    scopes: list[str],
    expires: timedelta | None,
    message: str,
) -> None:
    with pytest.raises(CallerRequestError, match=message):
        store.create(name, scopes, expires_in=expires)


def test_revoking_an_unknown_key_says_so(store: ApiKeyStore) -> None:
    with pytest.raises(CallerRequestError, match="no API key is named or numbered 'nobody'"):
        store.revoke("nobody")


def test_a_store_that_cannot_be_written_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")

    with pytest.raises(CallerStoreError, match="cannot open API key store"):
        ApiKeyStore(blocker / "api-keys.db")


def test_other_store_failures_are_store_errors(file_store: ApiKeyStore, path: Path) -> None:
    store = file_store
    with sqlite3.connect(path) as damage:
        damage.execute("DROP TABLE api_keys")

    with pytest.raises(CallerStoreError, match="API key store failed") as failed:
        store.create("ci-bot", ["audit:read"])

    assert isinstance(failed.value.__cause__, sqlite3.OperationalError)


def test_a_key_revoked_through_one_gateway_is_refused_by_the_other_at_once(
    store: ApiKeyStore, path: Path, clock: Clock, storage_backend: Backend
) -> None:
    other = ApiKeyStore(path, backend=storage_backend, clock=clock)  # another process
    try:
        issued = store.create("ci-bot", ["audit:read"])
        spare = store.create("nightly", ["audit:read"]).secret.get_secret_value()
        secret = issued.secret.get_secret_value()
        for _ in range(3):  # the other has checked it, and remembers it
            assert other.authenticate(secret).id == issued.key.id
        assert other.authenticate(spare).name == "nightly"

        store.revoke("ci-bot")

        with pytest.raises(AuthenticationError, match=r"is revoked$") as refused:
            other.authenticate(secret)
        assert refused.value.reason == "revoked_key"
        assert other.authenticate(spare).name == "nightly"  # the others still pass
        with pytest.raises(AuthenticationError, match=r"is revoked$"):
            store.authenticate(secret)
        with pytest.raises(CallerRequestError, match="already named 'nightly'"):
            other.create("nightly", ["audit:read"])  # one name among both
    finally:
        other.close()


def test_a_remembered_key_still_checks_its_secret_and_expiry(
    store: ApiKeyStore, clock: Clock
) -> None:
    issued = store.create("nightly", ["audit:read"], expires_in=timedelta(hours=1))
    secret = issued.secret.get_secret_value()
    assert store.authenticate(secret).name == "nightly"

    with pytest.raises(AuthenticationError, match=r"^unknown API key$"):
        store.authenticate(f"gwk_{issued.key.id}_" + "0" * 64)
    clock.now = START + timedelta(hours=1)
    with pytest.raises(AuthenticationError, match=r"is expired$"):
        store.authenticate(secret)


def test_the_memory_of_checked_keys_is_bounded(
    store: ApiKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gateway.callers.api_keys._REMEMBERED", 2)
    secrets = [
        store.create(f"bot-{number}", ["audit:read"]).secret.get_secret_value()
        for number in range(3)
    ]
    for secret in secrets * 2:
        store.authenticate(secret)

    assert len(store._checked) <= 2


def test_a_command_opens_the_configured_store_and_reports_one_it_cannot_open(
    tmp_path: Path,
) -> None:
    from gateway.storage import StorageSettings

    store = ApiKeyStore.configured(tmp_path / "api-keys.db", StorageSettings())
    store.create("ci-bot", ["audit:read"])
    store.close()
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CallerStoreError, match="cannot open API key store"):
        ApiKeyStore.configured(blocker / "api-keys.db", StorageSettings())


def test_a_remembered_key_is_checked_with_one_read_of_the_latest_generation(
    store: ApiKeyStore,
    path: Path,
    clock: Clock,
    storage_backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issued = store.create("ci-bot", ["audit:read"])
    secret = issued.secret.get_secret_value()
    assert store.authenticate(secret).id == issued.key.id  # checked once, remembered
    database = store._db
    reads: list[str] = []
    read_latest = database.read_latest

    def counted(sql: str) -> object:
        reads.append(sql)
        return read_latest(sql)

    def no_transaction(**_: object) -> object:
        raise AssertionError("a transaction for a remembered key")

    monkeypatch.setattr(database, "read_latest", counted)
    monkeypatch.setattr(database, "transaction", no_transaction)
    assert store.authenticate(secret).id == issued.key.id
    assert len(reads) == 1
    monkeypatch.undo()

    other = ApiKeyStore(path, backend=storage_backend, clock=clock)  # another process
    try:
        other.revoke("ci-bot")
    finally:
        other.close()
    with pytest.raises(AuthenticationError, match=r"is revoked$"):
        store.authenticate(secret)
