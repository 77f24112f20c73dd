"""A field kit: one signed JSON file a technician's laptop decides and audits with.

A kit file is the canonical JSON (``gateway.audit.canonical``) of::

    {"format": "it-support-gateway field kit v1", "key_id": "<central key id>",
     "sig": "<base64 Ed25519>", "kit": {...}}

``sig`` is the central audit key's signature over ``KIT_SIGNING_CONTEXT`` followed by the
canonical bytes of ``kit``.  ``kit`` holds the manifest, the policy bundle in force (its
files, digest and signature files), the least-data snapshot of the site's identity and
device facts, the workflows and trees allowed offline, the device key pair and the
central log's checkpoint when the kit was made (``docs/audit-log-format.md``).

``load_kit`` checks, in this order, and refuses with ``KitError`` naming the first failure:
malformed, foreign (another key than the central key), tampered (signature, or files that
do not give the bundle digest), device key mismatch, not yet valid, expired.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from gateway.audit.canonical import CanonicalError, canonical_bytes
from gateway.audit.keys import Signer, key_id, raw_public_key, verify_signature
from gateway.offline.errors import KitError
from gateway.policy.bundle import compute_digest

__all__ = [
    "KIT_FORMAT",
    "KIT_SIGNING_CONTEXT",
    "Checkpoint",
    "Kit",
    "KitBody",
    "KitFacts",
    "KitPolicy",
    "KitStepUp",
    "Manifest",
    "load_kit",
    "parse_time",
    "seal_kit",
    "write_kit",
]

KIT_FORMAT = "it-support-gateway field kit v1"
KIT_SIGNING_CONTEXT = b"it-support-gateway field kit v1\n"
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Manifest(BaseModel):
    model_config = _FROZEN

    kit_id: str = Field(pattern=r"^kit-[0-9a-f]{16}$")
    technician: str = Field(min_length=1, max_length=256)
    site: str = Field(min_length=1, max_length=128)
    issued: str  # audit record time format: 2026-05-01T08:00:00.000000Z
    expires: str
    central_key_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    device_key_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    device_public_key: str = Field(pattern=r"^[0-9a-f]{64}$")  # raw Ed25519, hex
    central_actions: list[str]  # refused offline (a central system), may be queued


class KitPolicy(BaseModel):
    model_config = _FROZEN

    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    files: dict[str, str]  # relative path -> UTF-8 text, the bundle's files
    signatures: dict[str, str]  # signatures/<signer>.sig.json -> text


class KitFacts(BaseModel):
    model_config = _FROZEN

    directory: dict[str, JsonValue]  # a static directory file (docs/static-directory.md)
    devices: dict[str, dict[str, JsonValue]]  # device name -> inventory entry


class Checkpoint(BaseModel):
    """The central log when the kit was enrolled: its size and last record hash (the
    ``offline.kit_prepared`` record); a segment's first ``prev``."""

    model_config = _FROZEN

    size: int = Field(ge=1)
    head_hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class KitStepUp(BaseModel):
    """The kit's own TOTP enrolment for its technician: a seed made for this kit only
    (never the central one), valid on this kit until it expires (``docs/offline.md``).
    The seed is a secret like the device key: never in a record, a log or an error."""

    model_config = _FROZEN

    user: str = Field(min_length=1, max_length=256)
    seed: str = Field(pattern=r"^[A-Z2-7]{32}$", repr=False)  # base32, 160 bits
    issuer: str = Field(min_length=1, max_length=256)


class KitBody(BaseModel):
    model_config = _FROZEN

    manifest: Manifest
    policy: KitPolicy
    facts: KitFacts
    workflows: dict[str, str]  # file name -> YAML text, those declaring offline: true
    trees: dict[str, str]
    device_private_key: str  # PKCS#8 PEM: the laptop's segment signing key
    checkpoint: Checkpoint
    stepup: KitStepUp | None = None  # the technician's offline step-up enrolment


class Kit(BaseModel):
    """A kit whose signature and contents were checked."""

    model_config = _FROZEN

    body: KitBody
    central_key_id: str
    issued: datetime
    expires: datetime

    @property
    def manifest(self) -> Manifest:
        return self.body.manifest

    def device_signer(self) -> Signer:
        return _device_signer(self.body.device_private_key)


def _device_signer(pem: str) -> Signer:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise KitError("malformed", "the device key is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KitError("malformed", "the device key is not Ed25519")
    return Signer(key)


def parse_time(text: str) -> datetime:
    """A record time (``...Z``) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def seal_kit(body: KitBody, signer: Signer) -> bytes:
    """The kit file's bytes: ``body`` signed by the central audit key."""
    encoded = canonical_bytes(body.model_dump(mode="json"))
    signature = signer.sign(KIT_SIGNING_CONTEXT + encoded)
    document = {
        "format": KIT_FORMAT,
        "key_id": signer.key_id,
        "sig": base64.b64encode(signature).decode("ascii"),
        "kit": body.model_dump(mode="json"),
    }
    return canonical_bytes(document)


def write_kit(path: Path, data: bytes) -> None:
    """Write a kit readable by its owner only: it holds the device's private key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _document(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise KitError("malformed", f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or set(document) != {"format", "key_id", "sig", "kit"}:
        raise KitError("malformed", "expected the members format, key_id, sig and kit")
    if document["format"] != KIT_FORMAT:
        raise KitError("malformed", f"format expected {KIT_FORMAT!r}")
    return document


def _check_signature(document: dict[str, Any], central: Ed25519PublicKey) -> None:
    central_id = key_id(central)
    if document["key_id"] != central_id:
        raise KitError(
            "foreign",
            f"signed by key {str(document['key_id'])[:16]}, the central key is {central_id}",
        )
    try:
        signature = base64.b64decode(str(document["sig"]), validate=True)
        encoded = canonical_bytes(document["kit"])
    except (binascii.Error, CanonicalError) as exc:
        raise KitError("malformed", str(exc)) from exc
    if not verify_signature(central, signature, KIT_SIGNING_CONTEXT + encoded):
        raise KitError("tampered", "the signature does not verify with the central key")


def _check_contents(body: KitBody) -> None:
    files = sorted(body.policy.files.items(), key=lambda item: item[0].encode())
    digest = compute_digest([(name, text.encode()) for name, text in files])
    if digest != body.policy.digest:
        raise KitError("tampered", f"policy files give {digest}, the kit says {body.policy.digest}")
    device = _device_signer(body.device_private_key)
    if raw_public_key(device.public_key).hex() != body.manifest.device_public_key:
        raise KitError("tampered", "the device key pair does not match the manifest")


def load_kit(path: Path, central: Ed25519PublicKey, now: datetime) -> Kit:
    """Read and check the kit at ``path`` against the central public key at ``now``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KitError("unreadable", f"{path}: {exc.strerror}") from exc
    document = _document(data)
    _check_signature(document, central)
    try:
        body = KitBody.model_validate(document["kit"])
        issued, expires = parse_time(body.manifest.issued), parse_time(body.manifest.expires)
        _check_contents(body)
    except (ValidationError, ValueError) as exc:
        raise KitError("malformed", str(exc).splitlines()[0]) from exc
    kit_id = body.manifest.kit_id
    if now < issued:
        raise KitError("not yet valid", f"kit {kit_id} is valid from {body.manifest.issued}")
    if now >= expires:
        raise KitError("expired", f"kit {kit_id} expired at {body.manifest.expires}")
    return Kit(body=body, central_key_id=key_id(central), issued=issued, expires=expires)
