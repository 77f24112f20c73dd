"""Subject rights through the Python service: the order of an erasure (decide, record,
then shred), legal keeps, and the sources."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.records import AuditEvent
from gateway.errors import AuditWriteError, UnknownActorError
from gateway.identity.facts import IdentityFacts
from gateway.policy.decision import Decision
from gateway.policy.request import AccessRequest
from gateway.privacy.errors import UnknownPersonError
from gateway.privacy.keystore import DataKeyStore
from gateway.privacy.rights import SubjectRights
from gateway.privacy.sources import KnowledgeArticles, Person, RecordsOf
from tests.privacy.sealed import TOM_FACTS, SealedLog, decision_of

NOW = datetime(2024, 6, 1, tzinfo=UTC)


class _Directory:
    def get_user(self, user_id: str) -> IdentityFacts:
        if user_id != "tom":
            raise UnknownActorError(user_id)
        return IdentityFacts(id="tom", username="tom", display_name="Tom Becker")

    def get_resource(self, resource_type: str, resource_id: str) -> None:
        return None


class _Allow:
    def authorize(self, request: AccessRequest) -> Decision:
        return Decision.model_validate(
            {"decision": "allow", "request": request.model_dump(), "decision_id": "d-9",
             "policy_digest": "sha256:" + "0" * 64, "reasons": [],
             "decided_at": "2024-06-01T00:00:00Z"}
        )  # fmt: skip


def _rights(sealed_log: SealedLog, keys: DataKeyStore, **options: Any) -> SubjectRights:
    return SubjectRights(
        _Allow(), _Directory(), options.pop("audit", lambda event: None), sealed_log.path, keys,
        **options,
    )  # fmt: skip


def test_when_the_erasure_cannot_be_recorded_nothing_is_erased(sealed_log: SealedLog) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))

    def broken(event: AuditEvent) -> None:
        raise AuditWriteError("disk full")

    with DataKeyStore(sealed_log.keys_path) as keys:
        with pytest.raises(AuditWriteError):
            _rights(sealed_log, keys, audit=broken).erase("tom", by="grace")
        assert keys.count("tom") == 1


def test_types_kept_for_legal_reasons_keep_their_keys(sealed_log: SealedLog) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
        log.append(
            AuditEvent(type="manual.action", actor="elena", resource="user:tom",
                       payload={"note": "laptop handed over"})
        )  # fmt: skip
    recorded: list[AuditEvent] = []
    with DataKeyStore(sealed_log.keys_path) as keys:
        rights = _rights(
            sealed_log, keys, audit=recorded.append, keep_on_erasure=frozenset({"decision"})
        )
        erasure = rights.erase("tom", by="grace")
        assert erasure.data_keys == 1
        assert erasure.kept_types == ("decision",)
        assert recorded[0].payload["kept_for_legal_reasons"] == ["decision"]
        assert keys.count("tom") == 1  # the decision's key


def test_a_person_only_the_key_store_knows_can_be_exported_and_erased(
    sealed_log: SealedLog,
) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("left-company", TOM_FACTS))
    with DataKeyStore(sealed_log.keys_path) as keys:
        rights = _rights(sealed_log, keys)
        exported = rights.export("left-company", by="grace")
        assert exported["directory"] is None
        assert exported["audit_records"][0]["payload"]["facts"] == TOM_FACTS
        assert rights.erase("left-company", by="grace").data_keys == 1
        with pytest.raises(UnknownPersonError):
            rights.erase("never-here", by="grace")


def test_stores_are_exported_and_kept(tmp_path: Path) -> None:
    source = RecordsOf("runs", lambda person: [{"actor": person.login}])
    person = Person("tom", ("tom",))
    assert source.export(person) == [{"actor": "tom"}]
    assert source.erase(person) == 0


def test_a_missing_knowledge_folder_holds_nothing(tmp_path: Path) -> None:
    articles = KnowledgeArticles(tmp_path / "none", reindex=lambda: None)
    person = Person("tom", ("tom", "Tom Becker"))
    assert articles.export(person) == []
    assert articles.erase(person) == 0


def test_export_holds_the_records_a_person_acted_in_or_that_are_about_them(
    sealed_log: SealedLog,
) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
        log.append(
            AuditEvent(type="action.succeeded", actor="elena", resource="account:tom",
                       payload={"detail": "Tom's laptop reimaged"})
        )  # fmt: skip
        log.append(AuditEvent(type="manual.action", actor="elena", resource="host:pc-7"))
    with DataKeyStore(sealed_log.keys_path) as keys:
        exported = _rights(sealed_log, keys).export("tom", by="grace")
    records = exported["audit_records"]
    assert [record["seq"] for record in records] == [0, 1]
    assert records[1]["payload"]["detail"] == "Tom's laptop reimaged"
    assert records[1]["sealed"] == {"payload.detail": "opened"}


def test_export_reads_the_log_while_a_record_is_being_appended(sealed_log: SealedLog) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
        log.append(AuditEvent(type="manual.action", actor="tom", resource="host:pc-7"))
    whole = sealed_log.path.read_bytes()
    with sealed_log.path.open("ab") as handle:  # another process's append, half written
        handle.write(whole.splitlines()[-1][:40])
    with DataKeyStore(sealed_log.keys_path) as keys:
        exported = _rights(sealed_log, keys).export("tom", by="grace")
    assert [record["seq"] for record in exported["audit_records"]] == [0, 1]
