"""Personal fields are sealed as records are appended; erasing a person's data key makes
them unreadable while the log still verifies with the public key alone."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest

from gateway.audit.log import AuditLog, read_lines
from gateway.audit.records import AuditEvent, parse_record
from gateway.audit.verify import verify_records
from gateway.errors import AuditWriteError
from gateway.privacy.envelope import MARK, EnvelopeError, open_envelope, read_envelope
from gateway.privacy.keystore import DataKeyStore, KeyState
from gateway.privacy.sealer import open_payload
from tests.privacy.sealed import TOM_FACTS, SealedLog, decision_of


def _records(path: Path) -> list:
    return [parse_record(line, index) for index, line in enumerate(read_lines(path))]


def test_a_decision_records_facts_sealed_and_the_log_verifies(sealed_log: SealedLog) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
    line = sealed_log.path.read_bytes()
    assert b"Sales" not in line
    assert b"Account manager" not in line
    (record,) = _records(sealed_log.path)
    envelope = record.payload["facts"][MARK]
    assert set(envelope) == {"v", "alg", "kid", "nonce", "ct", "commit"}
    assert record.payload["decision"] == "allow"  # what is not personal stays plain
    assert record.actor == "tom"  # the login stays, as the pseudonymous identifier
    report = verify_records(read_lines(sealed_log.path), sealed_log.signer.public_key)
    assert report.records == 1
    with DataKeyStore(sealed_log.keys_path) as keys:
        opened = open_payload(record.type, record.payload, keys)
    assert opened.payload["facts"] == TOM_FACTS
    assert opened.fields == {"payload.facts": "opened"}


def test_erasing_a_person_keeps_every_byte_and_verification(sealed_log: SealedLog) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
        log.append(decision_of("elena", {"v": 1, "actor": {"id": "elena"}, "resource": None}))
    before = hashlib.sha256(sealed_log.path.read_bytes()).hexdigest()
    with DataKeyStore(sealed_log.keys_path) as keys:
        from datetime import UTC, datetime

        assert keys.erase_person("tom", datetime(2024, 6, 1, tzinfo=UTC)) == 1
        tom, elena = _records(sealed_log.path)
        assert open_payload(tom.type, tom.payload, keys).fields == {"payload.facts": "erased"}
        assert open_payload(tom.type, tom.payload, keys).payload["facts"] == "erased"
        assert open_payload(elena.type, elena.payload, keys).fields == {"payload.facts": "opened"}
    assert hashlib.sha256(sealed_log.path.read_bytes()).hexdigest() == before
    verify_records(read_lines(sealed_log.path), sealed_log.signer.public_key)


def test_without_the_key_store_sealed_fields_are_unavailable(sealed_log: SealedLog) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
    (record,) = _records(sealed_log.path)
    opened = open_payload(record.type, record.payload, None)
    assert opened.payload["facts"] == "unavailable"
    assert opened.fields == {"payload.facts": "unavailable"}


def test_a_field_sealed_with_a_key_the_store_never_had_is_unavailable(
    sealed_log: SealedLog, tmp_path: Path
) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
    (record,) = _records(sealed_log.path)
    with DataKeyStore(tmp_path / "other.sqlite") as other:
        opened = open_payload(record.type, record.payload, other)
    assert opened.fields == {"payload.facts": "unavailable"}


def test_a_sealed_field_opens_only_in_its_own_record_type_and_field(
    sealed_log: SealedLog,
) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
    (record,) = _records(sealed_log.path)
    envelope = read_envelope(record.payload["facts"])
    assert envelope is not None
    with DataKeyStore(sealed_log.keys_path) as keys:
        key = keys.status(envelope.kid).key
        assert key is not None
        assert (
            open_envelope(envelope, key=key, event_type="decision", field="payload.facts")
            == TOM_FACTS
        )
        with pytest.raises(EnvelopeError, match="does not open"):
            open_envelope(envelope, key=key, event_type="ticket.routed", field="payload.facts")
        moved = {"decision": "allow", "note": record.payload["facts"]}
        assert open_payload("decision", moved, keys).fields == {"payload.note": "unavailable"}


def test_a_key_that_opens_to_another_value_is_caught_by_the_commitment(
    sealed_log: SealedLog,
) -> None:
    """AES-GCM does not commit to its key: the signed commitment pins the value."""
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
    (record,) = _records(sealed_log.path)
    envelope = read_envelope(record.payload["facts"])
    assert envelope is not None
    forged = type(envelope)(envelope.kid, envelope.nonce, envelope.ciphertext, "0" * 64)
    with DataKeyStore(sealed_log.keys_path) as keys:
        key = keys.status(envelope.kid).key
        assert key is not None
        with pytest.raises(EnvelopeError, match="commitment"):
            open_envelope(forged, key=key, event_type="decision", field="payload.facts")


def _sealed(**changes: object) -> dict[str, object]:
    good = {"v": 1, "alg": "A256GCM", "kid": "a" * 32, "nonce": "", "ct": "", "commit": "0" * 64}
    return {MARK: {**good, **changes}}


@pytest.mark.parametrize(
    "value",
    [
        {MARK: "text"},
        {MARK: {"v": 1}},
        _sealed(v=2),
        _sealed(kid="A" * 32),
        _sealed(commit="x"),
        _sealed(nonce="!!"),
        _sealed(nonce=3),
        _sealed(nonce="AAAA"),
    ],
    ids=["not an object", "members missing", "another version", "upper-case kid",
         "bad commitment", "nonce not base64", "nonce not a string", "nonce too short"],
)  # fmt: skip
def test_a_malformed_sealed_value_reads_as_unavailable(value: dict[str, object]) -> None:
    with pytest.raises(EnvelopeError):
        read_envelope(value)
    assert open_payload("decision", {"facts": value}, None).fields == {
        "payload.facts": "unavailable"
    }


def test_a_ciphertext_that_holds_no_salted_value_is_unavailable(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from gateway.privacy.envelope import COMMIT_CONTEXT, _aad

    with DataKeyStore(tmp_path / "keys.sqlite") as keys:
        from datetime import UTC, datetime

        kid, key = keys.key_for("tom", "decision", "2024-05", datetime(2024, 5, 1, tzinfo=UTC))
        plaintext = b"[1]"
        nonce = b"\0" * 12
        ct = AESGCM(key).encrypt(nonce, plaintext, _aad("decision", "payload.facts", kid))
        value = {
            MARK: {
                "v": 1, "alg": "A256GCM", "kid": kid,
                "nonce": base64.b64encode(nonce).decode(), "ct": base64.b64encode(ct).decode(),
                "commit": hashlib.sha256(COMMIT_CONTEXT + plaintext).hexdigest(),
            }
        }  # fmt: skip
        assert open_payload("decision", {"facts": value}, keys).fields == {
            "payload.facts": "unavailable"
        }


def test_secrets_are_redacted_before_sealing_never_sealed(sealed_log: SealedLog) -> None:
    facts = {"v": 1, "actor": {"id": "tom"}, "password": "hunter2"}
    with sealed_log.open() as log:
        record = log.append(decision_of("tom", facts))
    assert "event.payload.facts.password" not in record.redacted
    assert "payload.facts.password" in record.redacted
    with DataKeyStore(sealed_log.keys_path) as keys:
        opened = open_payload(record.type, record.payload, keys)
    assert opened.payload["facts"]["password"] == "[redacted]"


def test_types_without_personal_fields_and_signed_embeds_stay_plain(sealed_log: SealedLog) -> None:
    with sealed_log.open() as log:
        merged = log.append(
            AuditEvent(type="offline.record", actor="tom", payload={"line": "{...}", "facts": "x"})
        )
        other = log.append(AuditEvent(type="policy.reloaded", payload={"facts": "kept"}))
        unknown = log.append(AuditEvent(type="custom.thing", payload={"facts": "kept"}))
        empty = log.append(decision_of("tom", {}).model_copy(update={"payload": {"facts": None}}))
    assert merged.payload == {"line": "{...}", "facts": "x"}
    assert other.payload == {"facts": "kept"}
    assert unknown.payload == {"facts": "kept"}
    assert empty.payload == {"facts": None}


def test_records_that_name_no_person_are_sealed_under_an_unattributed_key(
    sealed_log: SealedLog,
) -> None:
    with sealed_log.open() as log:
        record = log.append(
            AuditEvent(
                type="ticket.writeback_queued", resource="ticket:INC1", payload={"text": "Hi Tom"}
            )
        )
    assert b"Hi Tom" not in record.line
    with DataKeyStore(sealed_log.keys_path) as keys:
        assert keys.key_ids("-") != frozenset()


def test_an_action_on_a_user_is_sealed_under_that_users_key(sealed_log: SealedLog) -> None:
    with sealed_log.open() as log:
        log.append(
            AuditEvent(
                type="action.succeeded", actor="elena", resource="user:tom",
                payload={"detail": "password reset for Tom Baker"},
            )
        )  # fmt: skip
    with DataKeyStore(sealed_log.keys_path) as keys:
        assert keys.key_ids("tom")
        assert not keys.key_ids("elena")


def test_the_key_store_is_a_private_file(sealed_log: SealedLog) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
    assert stat.S_IMODE(sealed_log.keys_path.stat().st_mode) == 0o600


def test_when_the_key_store_cannot_be_written_nothing_is_appended(sealed_log: SealedLog) -> None:
    log = sealed_log.open()
    log.sealer.keys.close()  # type: ignore[union-attr]
    with pytest.raises(AuditWriteError, match="append failed"):
        log.append(decision_of("tom", TOM_FACTS))
    assert sealed_log.path.read_bytes() == b""
    log.sealer = None
    log.close()


def test_logs_written_before_sealing_still_verify_and_show(sealed_log: SealedLog) -> None:
    with AuditLog(sealed_log.path, sealed_log.signer) as plain:
        plain.append(decision_of("tom", TOM_FACTS))
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
    old, new = _records(sealed_log.path)
    verify_records(read_lines(sealed_log.path), sealed_log.signer.public_key)
    with DataKeyStore(sealed_log.keys_path) as keys:
        assert open_payload(old.type, old.payload, keys).payload["facts"] == TOM_FACTS
        assert open_payload(old.type, old.payload, keys).fields == {}
        assert open_payload(new.type, new.payload, keys).payload["facts"] == TOM_FACTS


def test_one_key_per_person_type_and_month(sealed_log: SealedLog) -> None:
    with sealed_log.open() as log:
        first = log.append(decision_of("tom", TOM_FACTS))
        second = log.append(decision_of("tom", TOM_FACTS))
    one = read_envelope(first.payload["facts"])
    two = read_envelope(second.payload["facts"])
    assert one is not None
    assert two is not None
    assert one.kid == two.kid
    assert one.nonce != two.nonce
    assert one.commit != two.commit
    with DataKeyStore(sealed_log.keys_path) as keys:
        assert keys.status(one.kid).state is KeyState.AVAILABLE
        assert keys.status("f" * 32).state is KeyState.UNKNOWN
    assert json.loads(first.line)["payload"]["facts"][MARK]["kid"] == one.kid


def test_a_key_erased_by_another_process_is_never_used_for_a_new_record(
    sealed_log: SealedLog,
) -> None:
    from datetime import UTC, datetime

    with sealed_log.open() as log:
        first = log.append(decision_of("tom", TOM_FACTS))
        with DataKeyStore(sealed_log.keys_path) as elsewhere:
            elsewhere.erase_person("tom", datetime(2024, 6, 1, tzinfo=UTC))
        second = log.append(decision_of("tom", TOM_FACTS))
    one = read_envelope(first.payload["facts"])
    two = read_envelope(second.payload["facts"])
    assert one is not None
    assert two is not None
    assert one.kid != two.kid
    with DataKeyStore(sealed_log.keys_path) as keys:
        assert open_payload(second.type, second.payload, keys).fields == {"payload.facts": "opened"}


def test_a_record_opened_for_a_reader_keeps_its_line_and_signature(
    sealed_log: SealedLog,
) -> None:
    from gateway.privacy.sealer import open_record

    with sealed_log.open() as log:
        record = log.append(decision_of("tom", TOM_FACTS))
    with DataKeyStore(sealed_log.keys_path) as keys:
        opened = open_record(record, keys)
    assert opened.payload["facts"] == TOM_FACTS
    assert (opened.line, opened.signature, opened.hash) == (
        record.line,
        record.signature,
        record.hash,
    )
