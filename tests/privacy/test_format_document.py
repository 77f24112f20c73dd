"""A sealed field opened by code written from docs/audit-log-format.md alone (standard
library JSON and AES-GCM, no gateway module), as an outside checker would."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.audit.log import read_lines
from gateway.privacy.keystore import DataKeyStore
from tests.privacy.sealed import TOM_FACTS, SealedLog, decision_of


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_a_sealed_field_opens_as_the_format_document_says(sealed_log: SealedLog) -> None:
    with sealed_log.open() as log:
        log.append(decision_of("tom", TOM_FACTS))
    (line,) = read_lines(sealed_log.path)
    record = json.loads(line)
    envelope = record["payload"]["facts"]["$sealed"]
    with DataKeyStore(sealed_log.keys_path) as keys:
        key = keys.status(envelope["kid"]).key
    assert key is not None
    aad = b"it-support-gateway sealed field v1\n" + _canonical(
        {"field": "payload.facts", "kid": envelope["kid"], "type": record["type"]}
    )
    plaintext = AESGCM(key).decrypt(
        base64.b64decode(envelope["nonce"]), base64.b64decode(envelope["ct"]), aad
    )
    commitment = hashlib.sha256(b"it-support-gateway field commitment v1\n" + plaintext)
    assert commitment.hexdigest() == envelope["commit"]
    opened = json.loads(plaintext)
    assert set(opened) == {"salt", "value"}
    assert len(base64.b64decode(opened["salt"])) == 16
    assert opened["value"] == TOM_FACTS
    assert _canonical(opened) == plaintext
