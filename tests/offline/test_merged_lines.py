"""A merged segment line is the device's bytes: the central log's redaction never
rewrites it (that would break its device signature); what it holds was redacted by the
rules of the kit that wrote it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from gateway.audit.keys import load_public_key
from gateway.audit.records import AuditEvent
from gateway.audit.redaction import REDACTED
from gateway.offline.kit import load_kit
from gateway.offline.segment import SegmentLog

from .conftest import audit_lines
from .test_sync import _now, lines, sync, verify

Prepare = Callable[..., dict[str, object]]
PEM = "-----BEGIN OPENSSH PRIVATE KEY-----"


def test_a_merged_line_that_looks_like_a_secret_stays_byte_identical_and_verifies(
    central: Path, prepare: Prepare
) -> None:
    kit = load_kit(Path(str(prepare()["kit"])),
                   load_public_key(central / "keys/audit-signing.pub"), _now())  # fmt: skip
    segment = central / "visit.segment.log"
    log = SegmentLog(segment, kit.device_signer(), start_prev=kit.body.checkpoint.head_hash)
    # the device redacted the value of a key naming a secret; the key itself stays in its line
    written = log.append(AuditEvent(type="troubleshooting.answered", actor="elena",
                                    payload={PEM: "the key pasted by mistake"}))  # fmt: skip
    log.append(AuditEvent(type="troubleshooting.answered", actor="elena"))
    log.close()
    assert written.payload == {PEM: REDACTED}
    assert PEM.encode() in lines(segment)[0]

    code, result, err = sync(segment)

    assert code == 0, err
    assert result["status"] == "merged"
    [batch] = [r for r in audit_lines(central) if r["type"] == "offline.record"]
    assert [line.encode() for line in batch["payload"]["lines"]] == lines(segment)  # type: ignore[index]
    assert batch["redacted"] == []
    code, out, err = verify(central)
    assert code == 0, out + err
    assert json.loads(batch["payload"]["lines"][0])["sig"] == json.loads(lines(segment)[0])["sig"]  # type: ignore[index]
