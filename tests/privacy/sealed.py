"""A sealing audit log over a data key store, with the events a resolution writes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditEvent
from gateway.privacy.keystore import DataKeyStore
from gateway.privacy.sealer import PersonalDataSealer
from tests.audit.conftest import stepping_clock

TOM_FACTS = {
    "v": 1,
    "actor": {"id": "tom", "department": "Sales", "title": "Account manager", "manager": "sam"},
    "resource": None,
}


def decision_of(actor: str, facts: dict[str, object]) -> AuditEvent:
    return AuditEvent(
        type="decision",
        actor=actor,
        action="password.reset",
        resource=f"user:{actor}",
        decision_id="d-1",
        payload={"decision": "allow", "context": {"channel": "selfservice"}, "facts": facts},
    )


@dataclass
class SealedLog:
    path: Path
    keys_path: Path
    signer: Signer

    def open(self) -> AuditLog:
        keys = DataKeyStore(self.keys_path)
        return AuditLog(
            self.path, self.signer, clock=stepping_clock(), sealer=PersonalDataSealer(keys)
        )


def make_sealed_log(tmp_path: Path) -> SealedLog:
    return SealedLog(
        tmp_path / "audit.log", tmp_path / "keys" / "data-keys.sqlite", Signer.generate()
    )
