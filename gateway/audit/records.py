"""Audit records: what callers give, how it is sealed, and how a line is read back.

A record on disk is one line: the canonical JSON (``gateway.audit.canonical``) of

    {"v": 1, "seq": N, "time": "...Z", "prev": HEX, "type": ..., "actor": ..., "action": ...,
     "resource": ..., "decision_id": ..., "policy_digest": ..., "payload": {...},
     "redacted": [...], "key_id": ..., "sig": BASE64}

``sig`` is the Ed25519 signature over ``SIGNING_CONTEXT`` followed by the canonical bytes
of the record without ``sig``; the record hash is SHA-256 over the whole line (without the
newline) and is the next record's ``prev``.  See ``docs/audit-log-format.md``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.audit.canonical import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    CanonicalError,
    canonical_bytes,
    nested_deeper_than,
)
from gateway.audit.keys import Signer
from gateway.audit.redaction import redact
from gateway.errors import VerificationError

__all__ = [
    "FORMAT_VERSION",
    "GENESIS_PREV",
    "KEY_ROTATED",
    "SIGNING_CONTEXT",
    "AuditEvent",
    "AuditRecord",
    "PayloadSealer",
    "format_time",
    "parse_record",
    "seal_record",
]

FORMAT_VERSION = 1
GENESIS_PREV = "0" * 64
SIGNING_CONTEXT = b"it-support-gateway audit record v1\n"
KEY_ROTATED = "audit.key_rotated"

_FIELDS = (
    "v", "seq", "time", "prev", "type", "actor", "action", "resource",
    "decision_id", "policy_digest", "payload", "redacted", "key_id", "sig",
)  # fmt: skip
_OPTIONAL_TEXT = ("actor", "action", "resource", "decision_id", "policy_digest")
# Whole-string matches (``fullmatch``) over ASCII only: ``\d`` would take any Unicode digit.
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_KEY_ID = re.compile(r"[0-9a-f]{16}", re.ASCII)
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z", re.ASCII)
_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
_TYPE = re.compile(_TYPE_PATTERN, re.ASCII)
_FIELD_SET = frozenset(_FIELDS)


class AuditEvent(BaseModel):
    """What happened, as a caller reports it; the log adds sequence, time, chain and seal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(pattern=_TYPE_PATTERN, max_length=64)
    actor: str | None = None
    action: str | None = None
    resource: str | None = None
    decision_id: str | None = None
    policy_digest: str | None = None
    payload: dict[str, Any] = {}


PayloadSealer = Callable[[AuditEvent, dict[str, Any], str], dict[str, Any]]
"""Replaces a record's personal payload members by their sealed form, given the event,
its payload (secrets already redacted) and the record time (``gateway.privacy``)."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One sealed record and the exact line it is stored as."""

    seq: int
    time: str
    prev: str
    type: str
    actor: str | None
    action: str | None
    resource: str | None
    decision_id: str | None
    policy_digest: str | None
    payload: dict[str, Any]
    redacted: tuple[str, ...]
    key_id: str
    signature: bytes
    line: bytes  # canonical JSON, without the newline

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.line).hexdigest()

    def signing_input(self) -> bytes:
        """What the signature covers: the context and the canonical record without ``sig``.

        Keys are sorted, so ``"sig"`` is neither first nor last and dropping the member
        ``"sig":"...",`` from the canonical line gives exactly the canonical unsigned bytes.
        """
        member = b'"sig":"' + base64.b64encode(self.signature) + b'",'
        return SIGNING_CONTEXT + self.line.replace(member, b"", 1)


def format_time(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: the only time format records use."""
    if moment.tzinfo is None:
        raise TypeError("audit record times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seal_record(
    event: AuditEvent,
    *,
    seq: int,
    prev: str,
    time: datetime | str,
    signer: Signer,
    sealer: PayloadSealer | None = None,
) -> AuditRecord:
    """Build, redact, seal personal fields, sign and encode one record; raise
    ``CanonicalError`` on bad payload.

    ``time`` may be given already formatted, when many records share it.  ``sealer``
    replaces personal payload members by envelopes after secrets are redacted, so the
    signature covers the sealed form.
    """
    fields, dropped = redact(
        {name: getattr(event, name) for name in (*_OPTIONAL_TEXT, "payload")}, "event"
    )
    stamp = time if isinstance(time, str) else format_time(time)
    if sealer is not None:
        fields["payload"] = sealer(event, fields["payload"], stamp)
    body: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "seq": seq,
        "time": stamp,
        "prev": prev,
        "type": event.type,
        **fields,
        "redacted": [path.removeprefix("event.") for path in dropped],
        "key_id": signer.key_id,
    }
    unsigned = canonical_bytes(body)
    signature = signer.sign(SIGNING_CONTEXT + unsigned)
    # Keys are sorted and "sig" sorts right before the top-level "time", the last
    # ',"time":"' in the line (only strings and an integer follow it): insert it there.
    at = unsigned.rfind(b',"time":"')
    member = b',"sig":"' + base64.b64encode(signature) + b'"'
    return _record(body, signature, unsigned[:at] + member + unsigned[at:])


def _record(body: dict[str, Any], signature: bytes, line: bytes) -> AuditRecord:
    return AuditRecord(
        seq=body["seq"],
        time=body["time"],
        prev=body["prev"],
        type=body["type"],
        actor=body["actor"],
        action=body["action"],
        resource=body["resource"],
        decision_id=body["decision_id"],
        policy_digest=body["policy_digest"],
        payload=body["payload"],
        redacted=tuple(body["redacted"]),
        key_id=body["key_id"],
        signature=signature,
        line=line,
    )


def _no_float(text: str) -> Any:
    raise ValueError(f"non-integer number {text}")


def _safe_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"integer out of range {text}")
    return value


def _is_text(value: Any, pattern: re.Pattern[str]) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _shape_problem(body: Any) -> str | None:
    """Why ``body`` is not a record, or ``None``; cheap checks first."""
    if not isinstance(body, dict):
        return "not a JSON object"
    if body.keys() != _FIELD_SET:
        missing = sorted(_FIELD_SET - body.keys())
        extra = sorted(body.keys() - _FIELD_SET)
        return f"fields differ: missing {missing}, unexpected {extra}"
    if body["v"] != FORMAT_VERSION or type(body["v"]) is not int:
        return f"v must be {FORMAT_VERSION}"
    if type(body["seq"]) is not int or body["seq"] < 0:
        return "seq must be a whole number"
    problems = (
        (_is_text(body["time"], _TIME), "bad time"),
        (_is_text(body["prev"], _HEX64), "bad prev hash"),
        (_is_text(body["type"], _TYPE), "bad type"),
        (_is_text(body["key_id"], _KEY_ID), "bad key_id"),
        (isinstance(body["sig"], str), "sig must be a string"),
        (isinstance(body["payload"], dict), "payload must be an object"),
        (
            isinstance(body["redacted"], list)
            and all(isinstance(item, str) for item in body["redacted"]),
            "redacted must be a list of strings",
        ),
    )
    for passed, message in problems:
        if not passed:
            return message
    for name in _OPTIONAL_TEXT:
        if body[name] is not None and not isinstance(body[name], str):
            return f"bad {name}"
    return None


_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"
_DECODER = json.JSONDecoder(parse_float=_no_float, parse_int=_safe_int, parse_constant=_no_float)


def parse_record(line: bytes, position: int) -> AuditRecord:
    """Read one stored line strictly; ``position`` (0-based line number) locates errors."""
    try:
        # Floats, huge integers and NaN are refused while parsing; duplicate keys and any
        # other non-canonical spelling are caught by re-encoding below.
        body = _DECODER.decode(line.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise VerificationError("malformed record", f"not JSON: {exc}", position) from exc
    except RecursionError as exc:  # only nesting exhausts the parser's stack
        raise VerificationError("malformed record", _TOO_DEEP, position) from exc
    # At most MAX_DEPTH + 1 opening brackets cannot nest deeper: most lines stop here.
    if line.count(b"[") + line.count(b"{") > MAX_DEPTH + 1 and nested_deeper_than(body):
        raise VerificationError("malformed record", _TOO_DEEP, position)
    problem = _shape_problem(body)
    if problem is not None:
        raise VerificationError("malformed record", problem, position)
    try:
        signature = base64.b64decode(body["sig"], validate=True)
        encoded = canonical_bytes(body, checked=True)
    except (binascii.Error, CanonicalError) as exc:
        raise VerificationError("malformed record", str(exc), position) from exc
    if len(signature) != 64 or base64.b64encode(signature).decode("ascii") != body["sig"]:
        raise VerificationError(
            "malformed record", "signature must be 64 bytes in canonical base64", position
        )
    if encoded != line:
        raise VerificationError("malformed record", "not in canonical form", position)
    return _record(body, signature, line)
