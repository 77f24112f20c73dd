"""Reading an audit log for impact analysis: fast, and only a log of this gateway.

    read_decision_log(path, trusted_key, checkpoint=..., origin=...)
        record 0 signed by another key ........ refused: a log from another origin
        checkpoint of another origin .......... refused (before any record is read)
        checkpoint not signed by the log's keys refused
        checkpoint root differs from the log .. refused (at the end of the stream)
        a line that is not a record ........... refused, naming it

Replay needs each record's fields, not its proof: lines are read with a plain JSON parse
(``pydantic_core.from_json``; no canonical re-encoding, no signature check), several times
faster than the verifier's strict reading.
Whether every record is intact and signed is ``gateway audit verify``'s job; this refuses
a log that is plainly not this gateway's (another signing key, another origin).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic_core import from_json

from gateway.audit.checkpoints import open_signed_checkpoint, read_checkpoint
from gateway.audit.keys import key_id
from gateway.audit.merkle import leaf_hash
from gateway.audit.records import KEY_ROTATED, AuditRecord
from gateway.audit.verify import RootAccumulator
from gateway.errors import VerificationError

__all__ = ["OTHER_ORIGIN", "read_decision_log"]

OTHER_ORIGIN = "log from another origin"
_loads = from_json  # twice as fast as json.loads on a decision record


def _short(text: str) -> str:
    return text if len(text) <= 64 else text[:61] + "..."


def _record(line: bytes, position: int) -> AuditRecord:
    try:
        body = _loads(line)
        return AuditRecord(
            body["seq"], body["time"], body["prev"], body["type"], body["actor"],
            body["action"], body["resource"], body["decision_id"], body["policy_digest"],
            body["payload"], tuple(body["redacted"]), body["key_id"], b"", line,
        )  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError("malformed record", "not an audit record", position) from exc


def _rotated_key(record: AuditRecord) -> Ed25519PublicKey | None:
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(record.payload["new_public_key"]))
    except (KeyError, TypeError, ValueError):
        return None


def read_decision_log(
    path: Path,
    trusted_key: Ed25519PublicKey,
    *,
    checkpoint: str | None = None,
    origin: str | None = None,
) -> Iterator[AuditRecord]:
    """The records of the log at ``path``, refusing a log that did not start with
    ``trusted_key`` and, with a ``checkpoint`` note, one of another ``origin`` or whose
    records are not the ones the checkpoint commits to."""
    claimed = read_checkpoint(checkpoint) if checkpoint is not None else None
    if claimed is not None and origin is not None and claimed.origin != origin:
        raise VerificationError(
            OTHER_ORIGIN,
            f"checkpoint origin {_short(claimed.origin)!r}, expected {_short(origin)!r}",
        )
    expected = key_id(trusted_key)
    keys = [trusted_key]
    accumulator = RootAccumulator()
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise VerificationError("unreadable log", f"{path}: {exc.strerror}") from exc
    with handle:
        for position, raw in enumerate(handle):
            if not raw.endswith(b"\n"):
                break  # an append under way, or a torn tail: not a record yet
            line = raw[:-1]
            record = _record(line, position)
            if position == 0 and record.key_id != expected:
                raise VerificationError(
                    OTHER_ORIGIN,
                    f"its first record is signed by key {record.key_id}, "
                    f"not by the trusted key {expected}",
                    0,
                )
            if claimed is not None:
                if accumulator.size < claimed.size:
                    accumulator.add(leaf_hash(line))
                if record.type == KEY_ROTATED:
                    rotated = _rotated_key(record)
                    if rotated is not None:
                        keys.append(rotated)
            yield record
    if claimed is not None and checkpoint is not None:
        opened = open_signed_checkpoint(checkpoint, keys, origin=origin)
        if accumulator.size < opened.size or accumulator.root() != opened.root_hash:
            raise VerificationError(
                "checkpoint mismatch",
                f"the log's first {opened.size} records are not the ones the checkpoint "
                f"of {_short(opened.origin)!r} commits to",
            )
