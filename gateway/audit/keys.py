"""Ed25519 keys of the audit log: making, storing and loading them.

``gateway keys init`` writes ``audit-signing.key`` (PKCS#8 PEM, mode 0600, git-ignored;
loading refuses it when its group or others can reach it)
and ``audit-signing.pub`` (SubjectPublicKeyInfo PEM).  A key is known by its key id: the
first 16 hex digits of SHA-256 over the 32 raw public key bytes.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.errors import AuditKeyError

__all__ = [
    "PRIVATE_KEY_FILE",
    "PUBLIC_KEY_FILE",
    "Signer",
    "init_keys",
    "key_id",
    "load_public_key",
    "load_signer",
    "raw_public_key",
    "verify_signature",
]

PRIVATE_KEY_FILE = "audit-signing.key"
PUBLIC_KEY_FILE = "audit-signing.pub"


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 over the raw public key."""
    return hashlib.sha256(raw_public_key(public_key)).hexdigest()[:16]


def verify_signature(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class Signer:
    """A private key ready to sign records and checkpoints."""

    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @cached_property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    def __repr__(self) -> str:  # never show key material
        return f"Signer(key_id={self.key_id!r})"


def init_keys(
    directory: Path, *, force: bool = False, stem: str = "audit-signing"
) -> tuple[Path, Path, Signer]:
    """Write a new key pair, ``<stem>.key`` and ``<stem>.pub``, into ``directory``;
    refuse to overwrite unless ``force``."""
    private_path = directory / f"{stem}.key"
    public_path = directory / f"{stem}.pub"
    if not force and (private_path.exists() or public_path.exists()):
        raise AuditKeyError(f"{private_path}: a key already exists (use --force to replace it)")
    signer = Signer.generate()
    private_pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = signer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # an existing file keeps its mode: tighten it first
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(private_pem)
        private_path.chmod(0o600)
        public_path.write_bytes(public_pem)
    except OSError as exc:
        raise AuditKeyError(f"{directory}: cannot write keys: {exc.strerror}") from exc
    return private_path, public_path, signer


def load_signer(path: Path) -> Signer:
    """Load a private key written by ``init_keys``; refuse one that the file's group or
    others can read or write (its mode must be 0600 or tighter)."""
    try:
        with path.open("rb") as handle:
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
            data = handle.read()
    except OSError as exc:
        raise AuditKeyError(f"{path}: cannot read private key: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditKeyError(
            f"{path}: audit signing key is accessible by group or others "
            f"(mode {mode:04o}); chmod 600 it"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(f"{path}: not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{path}: expected an Ed25519 key, found {type(key).__name__}")
    return Signer(key)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Load a public key (PEM) as an auditor holds it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"{path}: cannot read public key: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise AuditKeyError(f"{path}: not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError(f"{path}: expected an Ed25519 key, found {type(key).__name__}")
    return key
