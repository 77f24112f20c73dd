"""Audit signing keys (gateway.audit.keys): making, storing, loading and naming them."""

from __future__ import annotations

import hashlib
import re
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.keys import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    Signer,
    init_keys,
    key_id,
    load_public_key,
    load_signer,
    raw_public_key,
    verify_signature,
)
from gateway.errors import AuditKeyError

# RFC 8032 section 7.1, test 1.
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def _pem_private(key: rsa.RSAPrivateKey | x25519.X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_public(key: ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_init_writes_a_private_key_only_its_owner_can_read_and_a_matching_public_key(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "new" / "keys"
    private_path, public_path, signer = init_keys(directory)
    assert private_path == directory / PRIVATE_KEY_FILE
    assert public_path == directory / PUBLIC_KEY_FILE
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert private_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert public_path.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----\n")
    loaded = load_signer(private_path)
    assert loaded.key_id == signer.key_id
    assert key_id(load_public_key(public_path)) == signer.key_id


def test_init_refuses_to_overwrite_an_existing_key(tmp_path: Path) -> None:
    private_path, _, signer = init_keys(tmp_path)
    with pytest.raises(AuditKeyError, match=f"^{re.escape(str(private_path))}: a key already"):
        init_keys(tmp_path)
    assert load_signer(private_path).key_id == signer.key_id


def test_init_refuses_when_only_the_public_key_exists(tmp_path: Path) -> None:
    (tmp_path / PUBLIC_KEY_FILE).write_text("kept")
    with pytest.raises(AuditKeyError, match="use --force to replace it"):
        init_keys(tmp_path)
    assert (tmp_path / PUBLIC_KEY_FILE).read_text() == "kept"
    assert not (tmp_path / PRIVATE_KEY_FILE).exists()


def test_init_with_force_replaces_the_key_and_tightens_the_file_mode(tmp_path: Path) -> None:
    private_path, _, old = init_keys(tmp_path)
    private_path.chmod(0o644)
    _, public_path, new = init_keys(tmp_path, force=True)
    assert new.key_id != old.key_id
    assert load_signer(private_path).key_id == new.key_id
    assert key_id(load_public_key(public_path)) == new.key_id
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600


def test_init_into_a_path_that_is_a_file_is_a_key_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "keys"
    blocker.write_text("not a directory")
    with pytest.raises(AuditKeyError, match=f"^{re.escape(str(blocker))}: cannot write keys: "):
        init_keys(blocker)


def test_key_id_is_the_start_of_sha256_over_the_raw_public_key() -> None:
    signer = Signer(Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET))
    assert raw_public_key(signer.public_key) == RFC8032_PUBLIC
    assert signer.key_id == hashlib.sha256(RFC8032_PUBLIC).hexdigest()[:16]
    assert key_id(signer.public_key) == signer.key_id


def test_signatures_verify_only_for_the_signed_data_and_key() -> None:
    signer = Signer(Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET))
    assert signer.sign(b"") == RFC8032_SIGNATURE
    assert verify_signature(signer.public_key, RFC8032_SIGNATURE, b"")
    assert not verify_signature(signer.public_key, RFC8032_SIGNATURE, b"x")
    assert not verify_signature(Signer.generate().public_key, RFC8032_SIGNATURE, b"")


def test_a_signer_never_shows_its_key_material() -> None:
    signer = Signer(Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET))
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for shown in (repr(signer), str(signer), f"{signer}", repr([signer])):
        assert shown.count(f"Signer(key_id='{signer.key_id}')") == 1
        assert RFC8032_SECRET.hex() not in shown
        assert pem.decode().splitlines()[1] not in shown
        assert "private" not in shown.lower()


def test_loading_a_missing_private_key_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.key"
    with pytest.raises(AuditKeyError, match=f"^{re.escape(str(path))}: cannot read private key"):
        load_signer(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"hello", "not a PEM private key", id="not PEM"),
        pytest.param(b"", "not a PEM private key", id="empty"),
        pytest.param(
            _pem_private(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
            "expected an Ed25519 key, found RSAPrivateKey",
            id="an RSA key",
        ),
        pytest.param(
            _pem_private(x25519.X25519PrivateKey.generate()),
            "expected an Ed25519 key, found X25519PrivateKey",
            id="an X25519 key",
        ),
        pytest.param(
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"passphrase"),
            ),
            "not a PEM private key",
            id="an encrypted key",
        ),
        pytest.param(
            _pem_public(x25519.X25519PrivateKey.generate()),
            "not a PEM private key",
            id="a public key",
        ),
    ],
)
def test_loading_a_bad_private_key_is_a_key_error_naming_the_path(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "audit-signing.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(AuditKeyError, match=f"^{re.escape(str(path))}: {message}$"):
        load_signer(path)


def test_loading_a_missing_public_key_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.pub"
    with pytest.raises(AuditKeyError, match=f"^{re.escape(str(path))}: cannot read public key"):
        load_public_key(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"-----BEGIN PUBLIC KEY-----\n", "not a PEM public key", id="broken PEM"),
        pytest.param(
            _pem_public(ec.generate_private_key(ec.SECP256R1())),
            r"expected an Ed25519 key, found \w*E\w*C\w*PublicKey",
            id="a P-256 key",
        ),
        pytest.param(
            _pem_public(x25519.X25519PrivateKey.generate()),
            "expected an Ed25519 key, found X25519PublicKey",
            id="an X25519 key",
        ),
    ],
)
def test_loading_a_bad_public_key_is_a_key_error_naming_the_path(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "audit-signing.pub"
    path.write_bytes(content)
    with pytest.raises(AuditKeyError, match=f"^{re.escape(str(path))}: {message}$"):
        load_public_key(path)


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(0o644, id="readable by everyone"),
        pytest.param(0o640, id="readable by its group"),
        pytest.param(0o604, id="readable by others only"),
        pytest.param(0o620, id="writable by its group"),
    ],
)
def test_a_signing_key_others_can_reach_is_refused_naming_the_file_and_the_fix(
    tmp_path: Path, mode: int
) -> None:
    private_path, _, _ = init_keys(tmp_path)
    private_path.chmod(mode)

    with pytest.raises(AuditKeyError) as caught:
        load_signer(private_path)

    assert str(caught.value) == (
        f"{private_path}: audit signing key is accessible by group or others "
        f"(mode {mode:04o}); chmod 600 it"
    )
