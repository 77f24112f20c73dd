"""Detached signatures of a policy bundle, one file per signer.

A signature file is ``signatures/<signer>.sig.json`` in the bundle directory (not part of
the bundle digest: only ``.conf``, ``.csv``, ``.cedarschema`` and ``.cedar`` files are)::

    {"v": 1, "signer": "security-alice", "key_id": "<16 hex>",
     "digest": "sha256:<64 hex>", "signature": "<base64 Ed25519 signature>"}

The signature covers :data:`SIGNING_CONTEXT` followed by the digest (``signed_bytes``).
A signer's file names the digest it signed, so a bundle edited after signing shows as
tampered (a signature over another digest) rather than merely unsigned.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.audit.keys import Signer
from gateway.errors import PolicyBundleError, SourceProblem

__all__ = [
    "SIGNATURE_DIR",
    "SIGNATURE_SUFFIX",
    "SIGNER_PATTERN",
    "SIGNING_CONTEXT",
    "BundleSignature",
    "read_signatures",
    "sign_digest",
    "signature_state",
    "signed_bytes",
    "write_signature",
]

SIGNATURE_DIR = "signatures"
SIGNATURE_SUFFIX = ".sig.json"
SIGNING_CONTEXT = b"it-support-gateway policy bundle v1\n"
SIGNER_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
MAX_SIGNATURE_FILE = 4096


class BundleSignature(BaseModel):
    """One signer's detached signature over one bundle digest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    signer: str = Field(pattern=SIGNER_PATTERN)
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    signature: str = Field(max_length=128)

    def signature_bytes(self) -> bytes | None:
        """The raw signature, or ``None`` when it is not valid base64."""
        try:
            return base64.b64decode(self.signature, validate=True)
        except (binascii.Error, ValueError):
            return None


def signed_bytes(digest: str) -> bytes:
    """The one byte string a bundle signature covers."""
    return SIGNING_CONTEXT + digest.encode()


def sign_digest(signer: Signer, name: str, digest: str) -> BundleSignature:
    raw = signer.sign(signed_bytes(digest))
    return BundleSignature(
        signer=name,
        key_id=signer.key_id,
        digest=digest,
        signature=base64.b64encode(raw).decode(),
    )


def _signature_files(root: Path) -> list[Path]:
    folder = root / SIGNATURE_DIR
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.name.endswith(SIGNATURE_SUFFIX))


def signature_state(root: Path) -> tuple[tuple[str, int, int], ...]:
    """A cheap fingerprint of the signature files (name, size, modification time)."""
    state = []
    for path in _signature_files(root):
        try:
            info = path.stat()
        except OSError:
            continue
        state.append((path.name, info.st_size, info.st_mtime_ns))
    return tuple(state)


def read_signatures(root: Path) -> tuple[list[BundleSignature], list[SourceProblem]]:
    """Every signature file of the bundle; unreadable or malformed ones become problems
    (they count for nothing)."""
    found: list[BundleSignature] = []
    problems: list[SourceProblem] = []
    for path in _signature_files(root):
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_SIGNATURE_FILE + 1)
        except OSError as exc:
            problems.append(SourceProblem(str(path), 0, f"cannot read: {exc.strerror}"))
            continue
        if len(data) > MAX_SIGNATURE_FILE:
            problems.append(SourceProblem(str(path), 0, "signature file is too large"))
            continue
        try:
            found.append(BundleSignature.model_validate_json(data))
        except ValidationError as exc:
            detail = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in detail["loc"]) or "file"
            problems.append(SourceProblem(str(path), 1, f"{where}: {detail['msg']}"))
    return found, problems


def write_signature(root: Path, signature: BundleSignature) -> Path:
    """Write ``signature`` as ``signatures/<signer>.sig.json`` (replacing that signer's
    earlier file) atomically."""
    folder = root / SIGNATURE_DIR
    target = folder / f"{signature.signer}{SIGNATURE_SUFFIX}"
    text = json.dumps(signature.model_dump(), indent=2) + "\n"
    try:
        folder.mkdir(exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".signing-")
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(temporary).replace(target)
    except OSError as exc:
        raise PolicyBundleError.single(
            "cannot write the bundle signature", target, 0, str(exc.strerror)
        ) from exc
    return target
