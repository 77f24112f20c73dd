"""The Ed25519 key that signs the gateway's own bearer tokens (the embedded issuer).

It is made on first use, like the audit log's key: PKCS#8 PEM, mode 0600.  Two processes
making it at once agree on one key: the new key is written to a private temporary file
and linked into place only if no key is there yet.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.callers.errors import SigningKeyError

__all__ = ["load_signing_key"]


def load_signing_key(path: Path, *, create: bool = True) -> Ed25519PrivateKey:
    """The token signing key at ``path``, made first when missing and ``create`` is set."""
    if not path.exists():
        if not create:
            raise SigningKeyError(f"{path}: no token signing key")
        _create(path)
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read token signing key: {exc.strerror}") from exc
    if mode & 0o077:
        raise SigningKeyError(
            f"{path}: token signing key is readable by others (mode {mode & 0o777:o}); chmod 600 it"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path}: not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: expected an Ed25519 key, found {type(key).__name__}")
    return key


def _create(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".token-key-")
        try:
            with os.fdopen(descriptor, "wb") as handle:  # mkstemp makes it mode 0600
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(temporary, path)
        finally:
            Path(temporary).unlink()
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot write token signing key: {exc.strerror}") from exc
