"""Two gateways on one storage backend share their data keys: a record sealed by one opens
in the other, and an erasure made through one is seen by the other at once (on SQLite, two
gateways of one host sharing the key file; on PostgreSQL, two gateways sharing the
database)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.app.gateway import Gateway
from gateway.audit.records import AuditRecord, parse_record
from gateway.policy.request import AccessRequest
from gateway.privacy.envelope import read_envelope
from gateway.privacy.keystore import DataKeyStore, KeyState
from gateway.privacy.sealer import open_payload
from gateway.storage.settings import StorageSettings
from tests.runtime.harness import make_config

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def gateways(tmp_path: Path, storage_settings: StorageSettings) -> Iterator[list[Gateway]]:
    """Two gateways, each with its own folder and audit log, on one storage backend."""
    made = []
    for name in ("a", "b"):
        config = make_config(tmp_path / name)  # a key file of its own: two hosts
        if storage_settings.backend == "sqlite":  # two gateways of one host share the file
            shared = tmp_path / "shared" / "data-keys.sqlite"
            privacy = config.privacy.model_copy(update={"key_store": shared})
            config = config.model_copy(update={"privacy": privacy})
        audit = config.audit.model_copy(
            update={"signing_key": tmp_path / "keys" / "audit-signing.key"}
        )
        config = config.model_copy(update={"storage": storage_settings, "audit": audit})
        made.append(Gateway.from_config(config))
    yield made
    for gateway in made:
        gateway.close()


def _keys(gateway: Gateway) -> DataKeyStore:
    assert gateway.audit is not None
    assert gateway.audit.sealer is not None
    keys: DataKeyStore = gateway.audit.sealer.keys  # type: ignore[attr-defined]
    return keys


def _last_decision(gateway: Gateway) -> AuditRecord:
    assert gateway.audit is not None
    lines = list(gateway.audit.lines())  # the file, or the shared table on PostgreSQL
    records = [parse_record(line, index) for index, line in enumerate(lines)]
    return [record for record in records if record.type == "decision"][-1]


def _kid(record: AuditRecord) -> str:
    envelope = read_envelope(record.payload["facts"])
    assert envelope is not None
    return envelope.kid


def _opened(record: AuditRecord, keys: DataKeyStore) -> tuple[dict[str, str], Any]:
    opened = open_payload(record.type, record.payload, keys)
    return opened.fields, opened.payload["facts"]


def test_a_record_sealed_by_one_gateway_opens_in_the_other_and_an_erasure_reaches_both(
    gateways: list[Gateway],
) -> None:
    first, second = gateways
    reset = AccessRequest(actor="tom", action="password.reset", resource="user:tom")
    first.authorize(reset)
    sealed = _last_decision(first)
    assert json.dumps(sealed.payload["facts"]).count("Finance") == 0  # sealed, not in the clear

    fields, facts = _opened(sealed, _keys(second))
    assert fields == {"payload.facts": "opened"}
    assert facts["actor"]["department"] == "Finance"

    second.authorize(reset)  # the same person, type and month: the same key, either side
    assert _kid(_last_decision(second)) == _kid(sealed)

    assert _keys(second).erase_person("tom", NOW) == 1
    assert _opened(sealed, _keys(first))[0] == {"payload.facts": "erased"}
    assert _keys(first).status(_kid(sealed)).state is KeyState.ERASED
    assert _keys(first).was_erased("tom")

    first.authorize(reset)  # the first gateway had the key in memory: it is not used again
    after = _last_decision(first)
    assert _kid(after) != _kid(sealed)
    assert _opened(after, _keys(second))[0] == {"payload.facts": "opened"}


def test_a_reader_outside_the_gateway_opens_sealed_fields_with_the_shared_keys(
    gateways: list[Gateway], storage_settings: StorageSettings, tmp_path: Path
) -> None:
    first = gateways[0]
    first.authorize(AccessRequest(actor="tom", action="password.reset", resource="user:tom"))
    sealed = _last_decision(first)

    reader = DataKeyStore.for_reading(_keys(first).path, storage_settings)
    assert reader is not None
    with reader:
        assert _opened(sealed, reader)[0] == {"payload.facts": "opened"}
    if storage_settings.backend == "sqlite":  # no file: nothing to open with
        assert DataKeyStore.for_reading(tmp_path / "none.sqlite", storage_settings) is None
