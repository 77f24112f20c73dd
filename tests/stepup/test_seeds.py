"""The seed key file and AES-GCM sealing of seeds."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.stepup.errors import SeedKeyError, StepUpStoreError
from gateway.stepup.seeds import KEY_BYTES, SeedCipher, _create_key_file
from gateway.stepup.totp import new_seed


def test_a_missing_key_is_created_private_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "stepup-seeds.key"
    cipher = SeedCipher.from_key_file(path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == cipher.key
    assert len(cipher.key) == KEY_BYTES
    assert [item.name for item in path.parent.iterdir()] == ["stepup-seeds.key"]


def test_an_existing_key_is_loaded_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "stepup-seeds.key"
    first = SeedCipher.from_key_file(path, create=True)
    again = SeedCipher.from_key_file(path, create=True)
    assert again.key == first.key
    assert again.key_id == first.key_id


def test_a_key_made_by_another_process_first_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "stepup-seeds.key"
    path.write_bytes(b"k" * KEY_BYTES)
    _create_key_file(path)
    assert path.read_bytes() == b"k" * KEY_BYTES
    assert [item.name for item in tmp_path.iterdir()] == ["stepup-seeds.key"]


def test_a_missing_key_is_an_error_unless_creation_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "stepup-seeds.key"
    with pytest.raises(SeedKeyError, match="cannot read seed key: No such file"):
        SeedCipher.from_key_file(path)
    assert not path.exists()


def test_a_key_that_cannot_be_created_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "keys"
    blocker.write_text("not a directory")
    with pytest.raises(SeedKeyError, match="cannot create seed key"):
        SeedCipher.from_key_file(blocker / "stepup-seeds.key", create=True)


def test_a_key_that_cannot_be_linked_into_place_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", refuse)
    with pytest.raises(SeedKeyError, match="cannot create seed key: Operation not permitted"):
        SeedCipher.from_key_file(tmp_path / "stepup-seeds.key", create=True)
    assert list(tmp_path.iterdir()) == []


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stepup-seeds.key"
    path.write_bytes(os.urandom(KEY_BYTES))
    path.chmod(0o644)
    with pytest.raises(SeedKeyError, match=r"accessible by group or others \(mode 0644\)"):
        SeedCipher.from_key_file(path)


@pytest.mark.parametrize("size", [0, 31, 33], ids=["empty", "one short", "one long"])
def test_a_key_of_the_wrong_size_is_refused(tmp_path: Path, size: int) -> None:
    path = tmp_path / "stepup-seeds.key"
    path.write_bytes(b"k" * size)
    path.chmod(0o600)
    with pytest.raises(SeedKeyError, match=f"must be 32 bytes, found {size}"):
        SeedCipher.from_key_file(path)


def test_a_cipher_needs_a_32_byte_key() -> None:
    with pytest.raises(SeedKeyError, match="must be 32 bytes, found 16"):
        SeedCipher(b"k" * 16)


def test_the_key_never_shows_in_a_repr() -> None:
    cipher = SeedCipher(b"\x01" * KEY_BYTES)
    assert "\\x01" not in repr(cipher)
    assert cipher.key.hex() not in repr(cipher)


def test_a_sealed_seed_opens_for_its_user() -> None:
    cipher = SeedCipher(os.urandom(KEY_BYTES))
    seed = new_seed()
    sealed = cipher.seal("alice", seed)
    assert seed.encode() not in sealed.ciphertext
    assert len(sealed.nonce) == 12
    assert sealed.key_id == cipher.key_id
    assert cipher.open("alice", sealed) == seed
    assert cipher.seal("alice", seed).nonce != sealed.nonce


def test_a_seed_moved_to_another_user_does_not_open() -> None:
    cipher = SeedCipher(os.urandom(KEY_BYTES))
    seed = new_seed()
    sealed = cipher.seal("alice", seed)
    with pytest.raises(StepUpStoreError) as caught:
        cipher.open("mallory", sealed)
    assert str(caught.value) == (
        "stored seed of 'mallory' does not decrypt (altered, or moved from another user)"
    )
    assert seed not in str(caught.value)


def test_an_altered_seed_does_not_open() -> None:
    cipher = SeedCipher(os.urandom(KEY_BYTES))
    sealed = cipher.seal("alice", new_seed())
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(StepUpStoreError, match="does not decrypt"):
        cipher.open("alice", replace(sealed, ciphertext=flipped))
    with pytest.raises(StepUpStoreError, match="does not decrypt"):
        cipher.open("alice", replace(sealed, nonce=b""))


def test_a_seed_sealed_under_another_key_is_named_as_such() -> None:
    sealed = SeedCipher(b"a" * KEY_BYTES).seal("alice", new_seed())
    other = SeedCipher(b"b" * KEY_BYTES)
    with pytest.raises(StepUpStoreError, match=f"sealed by key {sealed.key_id}, this gateway"):
        other.open("alice", sealed)
