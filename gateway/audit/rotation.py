"""Rotating the audit log's signing key, and which public key an auditor pins.

An auditor pins the log's *first* key, the key record 0 is signed by, and verification
follows the ``audit.key_rotated`` records from it.  So a rotation never touches
``audit-signing.pub`` (the pinned key); in the key directory it

1. signs, with the current key, a record that introduces a new key (``AuditLog.rotate_key``),
2. keeps the old private key as ``audit-signing.key.retired-OLDID``,
3. puts the new private key in ``audit-signing.key`` and its public key in
   ``audit-signing-NEWID.pub`` (checkpoint verifiers need it: the new key signs them).

The record is written before any file moves: if the log cannot be written, nothing
changes.  See ``docs/adr/0007-auditors-pin-the-first-key.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from gateway.audit.keys import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    Signer,
    init_keys,
    key_id,
    load_public_key,
    load_signer,
)
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditRecord, parse_record
from gateway.audit.snapshot import read_records
from gateway.audit.store import AuditStore
from gateway.errors import AuditError, AuditKeyError, VerificationError

__all__ = [
    "Rotation",
    "first_key_id",
    "first_key_in",
    "rotate_signing_key",
    "rotated_public_key_file",
]


def rotated_public_key_file(new_key_id: str) -> str:
    """The file name of the public key a rotation introduced."""
    return f"audit-signing-{new_key_id}.pub"


@dataclass(frozen=True)
class Rotation:
    """What ``rotate_signing_key`` did, and what auditors keep pinning."""

    old: Signer
    new: Signer
    record: AuditRecord
    first_key_id: str  # the log's first key: the one auditors pin
    pin: Path  # the pinned key's file, ``audit-signing.pub``
    pin_key_id: str | None  # the key in that file (None when it cannot be read)
    new_public_key: Path


def first_key_id(log: Path) -> str:
    """The key id record 0 of ``log`` is signed by."""
    return first_key_in(read_records(log))


def first_key_in(lines: Iterable[bytes]) -> str:
    """The key id the first of ``lines`` is signed by."""
    for line in lines:
        return parse_record(line, 0).key_id
    raise VerificationError("malformed record", "the log has no records", 0)


def _pinned_key_id(path: Path) -> str | None:
    try:
        return key_id(load_public_key(path))
    except AuditKeyError:
        return None


def rotate_signing_key(
    log_path: Path,
    directory: Path,
    *,
    open_log: Callable[[Signer], AuditStore] | None = None,
) -> Rotation:
    """Replace the signing key in ``directory`` for the log, recording it first: the file
    at ``log_path``, or the log ``open_log`` opens with a key (the shared database's)."""
    private_path = directory / PRIVATE_KEY_FILE
    old = load_signer(private_path)
    staging = directory / f".rotating-{old.key_id}"
    _, _, new = init_keys(staging, force=True)
    opener = open_log if open_log is not None else partial(AuditLog, log_path)
    try:
        log = opener(old)
    except AuditError:
        _discard(staging)
        raise
    try:
        try:
            record = log.rotate_key(new)
        except AuditError:
            _discard(staging)
            raise
        private_path.rename(directory / f"{PRIVATE_KEY_FILE}.retired-{old.key_id}")
        (staging / PRIVATE_KEY_FILE).rename(private_path)
        new_public = directory / rotated_public_key_file(new.key_id)
        (staging / PUBLIC_KEY_FILE).rename(new_public)
        staging.rmdir()
        first = first_key_in(log.lines())
    finally:
        log.close()
    pin = directory / PUBLIC_KEY_FILE
    return Rotation(
        old=old,
        new=new,
        record=record,
        first_key_id=first,
        pin=pin,
        pin_key_id=_pinned_key_id(pin),
        new_public_key=new_public,
    )


def _discard(staging: Path) -> None:
    for name in (PRIVATE_KEY_FILE, PUBLIC_KEY_FILE):
        (staging / name).unlink()
    staging.rmdir()
