"""The history of the bundles in force, read back from a real audit log."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditEvent
from gateway.errors import VerificationError
from gateway.policy.history import read_history

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
C = "sha256:" + "c" * 64


def write(path: Path, events: list[AuditEvent]) -> Path:
    with AuditLog(path, Signer.generate()) as log:
        for event in events:
            log.append(event)
    return path


def test_each_bundle_is_listed_from_its_first_record_with_every_signer(tmp_path: Path) -> None:
    log = write(
        tmp_path / "audit.log",
        [
            AuditEvent(type="policy.signed", payload={"digest": A, "signer": "carol"}),
            AuditEvent(type="policy.signed", payload={"digest": C, "signer": "nobody"}),
            AuditEvent(type="decision", policy_digest=A, payload={"policy_signers": ["alice"]}),
            AuditEvent(type="decision", policy_digest=A, payload={"policy_signers": "alice"}),
            AuditEvent(type="action.started", policy_digest=A),
            AuditEvent(type="policy.refused", policy_digest=A, payload={"digest": C}),
            AuditEvent(type="note"),
            AuditEvent(type="policy.reloaded", payload={"new_digest": 7}),
            AuditEvent(type="policy.reloaded", policy_digest=B,
                       payload={"old_digest": A, "new_digest": B, "signers": ["bob"]}),
            AuditEvent(type="decision", policy_digest=B, payload={"policy_signers": ["bob"]}),
        ],
    )  # fmt: skip

    history = read_history(log)

    assert [(h.digest, h.signers, h.decisions) for h in history] == [
        (A, ["alice", "carol"], 2),
        (B, ["bob"], 1),
    ]
    assert history[0].since is not None
    assert history[0].until is not None
    assert history[0].since <= history[0].until <= (history[1].since or "")


def test_a_log_that_cannot_be_read_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(VerificationError, match=r"unreadable log: .*missing\.log: No such file"):
        read_history(tmp_path / "missing.log")
