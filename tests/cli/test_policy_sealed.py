"""Sealed decision facts are opened before replay, or left unreadable: never guessed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.audit.records import AuditRecord
from gateway.cli.policy_sealed import open_sealed_facts
from gateway.privacy.envelope import MARK, seal_value
from gateway.privacy.keystore import DataKeyStore

FACTS = {"v": 1, "actor": {"id": "tom"}, "resource": None}


def record(facts: object, kind: str = "decision") -> AuditRecord:
    payload: dict[str, Any] = {"decision": "allow", "facts": facts}
    return AuditRecord(
        0, "2026-12-01T10:00:00.000000Z", "0" * 64, kind, "tom", "password.reset",
        "account:tom", None, None, payload, (), "0" * 16, b"", b"",
    )  # fmt: skip


def sealed(store: Path, person: str = "tom", **changed: Any) -> dict[str, Any]:
    with DataKeyStore(store) as keys:
        kid, key = keys.key_for(person, "decision", "2026-12", datetime.now(UTC))
    envelope = seal_value(FACTS, key=key, kid=kid, event_type="decision", field="payload.facts")
    envelope[MARK].update(changed)
    return envelope


def facts_of(records: list[AuditRecord], store: Path) -> list[object]:
    return [item.payload.get("facts") for item in open_sealed_facts(records, store)]


def test_sealed_facts_open_with_their_data_key_and_plain_ones_pass(tmp_path: Path) -> None:
    store = tmp_path / "keys.sqlite"
    one, two = sealed(store), sealed(store)

    opened = facts_of([record(one), record(two), record(FACTS), record(one, "other")], store)

    assert opened == [FACTS, FACTS, FACTS, one]


def test_facts_that_do_not_open_are_unavailable(tmp_path: Path) -> None:
    store = tmp_path / "keys.sqlite"
    tampered = sealed(store, commit="0" * 64)
    malformed = {MARK: {"v": 1}}

    assert facts_of([record(tampered), record(malformed)], store) == ["unavailable"] * 2


def test_facts_of_an_erased_person_or_without_a_key_store_cannot_be_read(tmp_path: Path) -> None:
    store = tmp_path / "keys.sqlite"
    tom = sealed(store)
    with DataKeyStore(store) as keys:
        keys.erase_person("tom", datetime.now(UTC))

    assert facts_of([record(tom)], store) == ["erased"]
    assert facts_of([record(tom)], tmp_path / "missing.sqlite") == ["unavailable"]
