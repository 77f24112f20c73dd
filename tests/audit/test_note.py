"""Tests for C2SP signed notes and checkpoints (gateway.audit.note)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit.note import (
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    Checkpoint,
    NoteError,
    add_signature,
    note_key_id,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verifier_key,
)

# Published in the golang.org/x/mod/sumdb/note package documentation (note.go) and its
# tests (note_test.go); the EnochRoot key is the one Go derives from an all-zero seed.
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)
GO_NOTE = GO_TEXT + "\n" + PETER_SIG
GO_DOUBLE_NOTE = GO_NOTE + ENOCH_SIG

# The example checkpoint of https://c2sp.org/tlog-checkpoint (its key is not published).
C2SP_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "\u2014 example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)


def go_private_key() -> Ed25519PrivateKey:
    encoded = GO_SIGNER_KEY.split("+", 4)[4]
    raw = base64.b64decode(encoded, validate=True)
    assert raw[0] == 1
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


PETER = go_private_key()
ENOCH = Ed25519PrivateKey.from_private_bytes(bytes(32))
OTHER = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"other").digest())
ROOT = hashlib.sha256(b"root").digest()


def flip_signature_byte(note: str, index: int) -> str:
    head, _, b64 = note.rstrip("\n").rpartition(" ")
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 1
    return f"{head} {base64.b64encode(bytes(raw)).decode()}\n"


# --- known-answer vectors ---------------------------------------------------------------------


def test_go_key_id_matches_an_independent_sha256() -> None:
    public = PETER.public_key()
    expected = hashlib.sha256(b"PeterNeumann\n\x01" + public.public_bytes_raw()).digest()[:4]
    assert note_key_id("PeterNeumann", public) == expected == bytes.fromhex("c74f20a3")


def test_go_verifier_keys_are_reproduced() -> None:
    assert verifier_key("PeterNeumann", PETER.public_key()) == GO_VKEY
    assert verifier_key("EnochRoot", ENOCH.public_key()) == ENOCH_VKEY


def test_go_signed_note_is_reproduced_byte_for_byte() -> None:
    assert sign_note(GO_TEXT, "PeterNeumann", PETER) == GO_NOTE
    assert add_signature(GO_NOTE, "EnochRoot", ENOCH) == GO_DOUBLE_NOTE


def test_go_signed_notes_open() -> None:
    assert open_note(GO_NOTE, [GO_VKEY]) == GO_TEXT
    assert open_note(GO_NOTE.encode(), [GO_VKEY]) == GO_TEXT
    assert open_note(GO_DOUBLE_NOTE, [GO_VKEY, ENOCH_VKEY]) == GO_TEXT
    assert open_note(GO_DOUBLE_NOTE, {"EnochRoot": ENOCH.public_key()}) == GO_TEXT


def test_parse_verifier_key_returns_name_key_and_id() -> None:
    name, key, key_id = parse_verifier_key(GO_VKEY)
    assert (name, key_id) == ("PeterNeumann", bytes.fromhex("c74f20a3"))
    assert key.public_bytes_raw() == PETER.public_key().public_bytes_raw()
    assert parse_verifier_key(GO_VKEY.replace("c74f20a3", "C74F20A3"))[2] == key_id


def test_c2sp_example_checkpoint_parses_and_its_unknown_key_is_named() -> None:
    text = C2SP_CHECKPOINT.split("\n\n")[0] + "\n"
    assert parse_checkpoint(text) == Checkpoint(
        "example.com/behind-the-sofa",
        20852163,
        base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="),
    )
    with pytest.raises(NoteError, match=r"unknown key.*example\.com/behind-the-sofa\+033de0ae"):
        open_checkpoint(C2SP_CHECKPOINT, [])


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [GO_TEXT, "\n", "one\n\ntwo with a blank line between\n", "ünïcødé — ok\n"],
    ids=["go text", "a lone newline", "text with a blank line", "non-ascii text"],
)
def test_sign_then_open_returns_the_text(text: str) -> None:
    note = sign_note(text, "example.com/log", OTHER)
    assert open_note(note, [("example.com/log", OTHER.public_key())]) == text


def test_add_signature_replaces_an_existing_signature_by_the_same_key() -> None:
    once = add_signature(GO_NOTE, "EnochRoot", ENOCH)
    assert add_signature(once, "EnochRoot", ENOCH) == once
    assert add_signature(once, "PeterNeumann", PETER) == GO_TEXT + "\n" + ENOCH_SIG + PETER_SIG


def test_unknown_signatures_are_ignored() -> None:
    foreign = add_signature(GO_NOTE, "someone", OTHER)
    first = GO_TEXT + "\n" + foreign.split("\n\n")[1].split("\n")[1] + "\n" + PETER_SIG
    assert open_note(foreign, [GO_VKEY]) == GO_TEXT
    assert open_note(first, [GO_VKEY]) == GO_TEXT


def test_repeated_signature_by_a_known_key_is_ignored_after_the_first() -> None:
    bad = flip_signature_byte(GO_NOTE, 10).split("\n\n")[1]
    assert open_note(GO_NOTE + bad, [GO_VKEY]) == GO_TEXT
    with pytest.raises(NoteError, match="bad signature"):
        open_note(GO_TEXT + "\n" + bad + PETER_SIG, [GO_VKEY])


def test_the_same_verifier_given_twice_is_accepted() -> None:
    assert open_note(GO_NOTE, [GO_VKEY, ("PeterNeumann", PETER.public_key())]) == GO_TEXT


def test_two_keys_with_the_same_name_and_id_are_ambiguous() -> None:
    one, two = (
        Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest()).public_key()
        for seed in (b"seed66716", b"seed82891")
    )
    assert note_key_id("x", one) == note_key_id("x", two) == bytes.fromhex("b954e02a")
    with pytest.raises(NoteError, match=r"ambiguous key x\+b954e02a"):
        open_note(GO_NOTE, [("x", one), ("x", two)])


def test_verifier_with_an_invalid_name_is_rejected() -> None:
    with pytest.raises(NoteError, match="key name 'a b' contains"):
        open_note(GO_NOTE, [("a b", PETER.public_key())])


# --- tampering and malformed notes ------------------------------------------------------------

TAMPERED = [
    pytest.param(
        GO_NOTE.replace("cryptography", "cryptographY"),
        r"bad signature from key PeterNeumann\+c74f20a3",
        id="changed text fails the signature",
    ),
    pytest.param(
        GO_TEXT + "\n" + flip_signature_byte(PETER_SIG, -1),
        r"bad signature from key PeterNeumann\+c74f20a3",
        id="flipped signature byte fails the signature",
    ),
    pytest.param(
        GO_NOTE.replace("PeterNeumann", "PeterNeuman"),
        r"unknown key: .* found PeterNeuman\+c74f20a3",
        id="renamed signer is unknown",
    ),
    pytest.param(
        GO_TEXT + "\n" + flip_signature_byte(PETER_SIG, 0),
        r"unknown key: .* found PeterNeumann\+c64f20a3",
        id="changed key id is unknown",
    ),
    pytest.param(
        GO_TEXT + PETER_SIG, "no blank line; expected one", id="missing blank line is malformed"
    ),
    pytest.param(
        GO_NOTE + "trailing data\n",
        "signature line 2 is 'trailing data'; expected",
        id="trailing data after the signatures is malformed",
    ),
    pytest.param(
        GO_NOTE[:-1], "does not end with a newline", id="missing final newline is malformed"
    ),
    pytest.param(GO_TEXT + "\n", "no signature lines", id="note without signatures is malformed"),
    pytest.param(
        GO_NOTE.replace("\u2014", "-"),
        "expected '\u2014 <name> <b64>'",
        id="hyphen instead of em dash is malformed",
    ),
    pytest.param(
        GO_NOTE.replace(" x08go", " a+b x08go"),
        "not standard base64",
        id="space inside the signature is malformed",
    ),
    pytest.param(
        GO_NOTE.replace("PeterNeumann", "Peter+Neumann"),
        "contains '\\+' or a space",
        id="plus in the signer name is malformed",
    ),
    pytest.param(
        GO_TEXT + "\n\u2014 PeterNeumann AAAAAA==\n",
        "has 4 bytes; expected at least 5",
        id="signature shorter than five bytes is malformed",
    ),
    pytest.param(
        GO_TEXT + "\n\u2014 PeterNeumann\n",
        "has 0 bytes; expected at least 5",
        id="signature line without a signature is malformed",
    ),
    pytest.param(
        GO_TEXT + "\n\u2014 PeterNeumann AB==\n",
        "is not canonical base64",
        id="non canonical base64 is malformed",
    ),
    pytest.param(
        GO_NOTE.replace("problem,", "problem,\r"),
        r"note has '\\r' at offset 56; expected UTF-8 without controls",
        id="carriage return is a forbidden control character",
    ),
    pytest.param(
        GO_NOTE.replace("problem,", "problem\ud800"),
        "note has '\\\\ud800' at offset 55",
        id="lone surrogate is not UTF-8",
    ),
    pytest.param(
        GO_NOTE.encode().replace(b"problem,", b"problem\xff"),
        "note is not UTF-8: invalid byte at offset 55",
        id="invalid UTF-8 bytes are rejected",
    ),
    pytest.param(
        GO_TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1),
        f"note has {MAX_SIGNATURES + 1} signatures; expected at most {MAX_SIGNATURES}",
        id="too many signatures are rejected",
    ),
    pytest.param(
        "x" * MAX_NOTE_BYTES + "\n\n" + PETER_SIG,
        f"expected at most {MAX_NOTE_BYTES}",
        id="oversized note is rejected",
    ),
]


@pytest.mark.parametrize(("note", "message"), TAMPERED)
def test_tampered_or_malformed_note_is_rejected(note: str | bytes, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        open_note(note, [GO_VKEY, ENOCH_VKEY])


def test_note_without_a_known_signer_is_rejected() -> None:
    with pytest.raises(NoteError, match=r"unknown key: .* found PeterNeumann\+c74f20a3"):
        open_note(GO_NOTE, {})


def test_truncated_signature_by_a_known_key_is_a_bad_signature() -> None:
    short = "\u2014 PeterNeumann " + base64.b64encode(bytes.fromhex("c74f20a3") + b"x").decode()
    with pytest.raises(NoteError, match="bad signature"):
        open_note(GO_TEXT + "\n" + short + "\n", [GO_VKEY])


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        pytest.param("no newline", "n", "does not end with a newline", id="text without newline"),
        pytest.param("bell\a\n", "n", r"note text has '\\x07' at offset 4", id="control char"),
        pytest.param("ok\n", "", "key name is empty", id="empty signer name"),
        pytest.param("ok\n", "a\u3000b", "contains '\\+' or a space", id="unicode space in name"),
    ],
)
def test_sign_note_rejects_invalid_input(text: str, name: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        sign_note(text, name, OTHER)


def test_sign_note_rejects_an_oversized_text_ending_in_newline() -> None:
    with pytest.raises(NoteError, match=f"expected at most {MAX_NOTE_BYTES}"):
        sign_note("x" * MAX_NOTE_BYTES + "\n", "n", OTHER)


def test_add_signature_refuses_to_exceed_the_signature_limit() -> None:
    full = GO_TEXT + "\n" + PETER_SIG * MAX_SIGNATURES
    with pytest.raises(NoteError, match="expected room for one more"):
        add_signature(full, "EnochRoot", ENOCH)
    assert add_signature(full, "PeterNeumann", PETER) == GO_NOTE


def test_error_messages_never_contain_private_key_material() -> None:
    seed = PETER.private_bytes_raw()
    secrets = {seed.hex(), base64.b64encode(seed).decode(), GO_SIGNER_KEY.split("+")[4]}
    for note, _ in (p.values for p in TAMPERED):
        with pytest.raises(NoteError) as caught:
            open_note(note, [GO_VKEY])  # type: ignore[arg-type]
        assert not any(s in str(caught.value) for s in secrets)


# --- verifier keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("+c74f20a3+AAAA", "key name is empty", id="empty name is rejected"),
        pytest.param("a b+c74f20a3+AAAA", "contains", id="name with a space is rejected"),
        pytest.param("a\u2003b+c74f20a3+AAAA", "contains", id="name with an em space is rejected"),
        pytest.param(
            "n+c74f20a+AAAA", "expected 8 hex digits", id="seven digit key id is rejected"
        ),
        pytest.param("n+c74f20ag+AAAA", "expected 8 hex digits", id="non hex key id is rejected"),
        pytest.param("n+c74f20a3", "found 0 bytes|has 0 bytes", id="missing key is rejected"),
        pytest.param("n+c74f20a3+!!!!", "not standard base64", id="non base64 key is rejected"),
        pytest.param(
            GO_VKEY.replace("+ARpc", "+Ahpc"),
            "has type 0x02, 33 bytes; expected type 0x01, 33 bytes",
            id="unknown algorithm is rejected",
        ),
        pytest.param(
            "n+c74f20a3+" + base64.b64encode(b"\x01" + bytes(31)).decode(),
            "has type 0x01, 32 bytes; expected",
            id="short key is rejected",
        ),
        pytest.param(
            GO_VKEY.replace("c74f20a3", "c74f20a4"),
            "key ID mismatch: expected c74f20a3, found c74f20a4",
            id="key id mismatch is rejected",
        ),
        pytest.param(
            GO_VKEY.replace("PeterNeumann", "PeterNeuman"),
            "key ID mismatch",
            id="renamed key no longer matches its id",
        ),
    ],
)
def test_parse_verifier_key_rejects_malformed_keys(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        parse_verifier_key(text)


def test_verifier_key_rejects_an_invalid_name() -> None:
    with pytest.raises(NoteError, match="contains"):
        verifier_key("a+b", OTHER.public_key())


# --- checkpoints ------------------------------------------------------------------------------


def test_checkpoint_body_is_exact() -> None:
    checkpoint = Checkpoint("example.com/log", 0, bytes(32), ("ext one", "ext two"))
    assert checkpoint.body() == (
        "example.com/log\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\next two\n"
    )


def test_checkpoint_sign_and_open_round_trip_checks_origin() -> None:
    checkpoint = Checkpoint("example.com/log", 42, ROOT)
    note = sign_checkpoint(checkpoint, "example.com/log", OTHER)
    keys = {"example.com/log": OTHER.public_key()}
    assert open_checkpoint(note, keys) == checkpoint
    assert open_checkpoint(note, keys, origin="example.com/log") == checkpoint
    with pytest.raises(NoteError, match="origin mismatch: expected 'other', found 'example"):
        open_checkpoint(note, keys, origin="other")


def test_open_checkpoint_rejects_a_signed_note_that_is_not_a_checkpoint() -> None:
    with pytest.raises(NoteError, match="checkpoint has 2 lines; expected at least 3"):
        open_checkpoint(GO_NOTE, [GO_VKEY])


GOOD_ROOT = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(f"o\n1\n{GOOD_ROOT}", "does not end with a newline", id="no final newline"),
        pytest.param("o\n1\n", "has 2 lines; expected at least 3", id="two lines are too few"),
        pytest.param(f"\n1\n{GOOD_ROOT}\n", "origin '' is invalid", id="origin must not be empty"),
        pytest.param(f"o\n\n{GOOD_ROOT}\n", "tree size '' is invalid", id="size must not be empty"),
        pytest.param(f"o\n01\n{GOOD_ROOT}\n", "tree size '01'", id="size has no leading zero"),
        pytest.param(f"o\n-1\n{GOOD_ROOT}\n", "tree size '-1'", id="size is not negative"),
        pytest.param(f"o\n+1\n{GOOD_ROOT}\n", "tree size '\\+1'", id="size has no plus sign"),
        pytest.param(f"o\n 1\n{GOOD_ROOT}\n", "tree size ' 1'", id="size has no spaces"),
        pytest.param(f"o\n\u0661\n{GOOD_ROOT}\n", "tree size", id="size uses ascii digits only"),
        pytest.param(
            f"o\n{2**64}\n{GOOD_ROOT}\n", "expected 0 to 2\\*\\*64-1", id="size fits in 64 bits"
        ),
        pytest.param("o\n1\n\n", "root hash is 0 bytes; expected 32", id="root must not be empty"),
        pytest.param("o\n1\n!!\n", "not standard base64", id="root must be base64"),
        pytest.param(f"o\n1\n{'A' * 42}B=\n", "not canonical base64", id="root must be canonical"),
        pytest.param(
            f"o\n1\n{base64.b64encode(bytes(31)).decode()}\n",
            "root hash is 31 bytes; expected 32",
            id="root must be 32 bytes",
        ),
        pytest.param(
            f"o\n1\n{GOOD_ROOT}\n\n", "extension '' is invalid", id="extension must not be empty"
        ),
        pytest.param(
            f"o\x01\n1\n{GOOD_ROOT}\n", "origin has '\\\\x01'", id="origin has no control chars"
        ),
    ],
)
def test_parse_checkpoint_rejects_malformed_text(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        parse_checkpoint(text)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(("a\nb", 0, ROOT), "origin 'a\\\\nb' is invalid", id="origin is one line"),
        pytest.param(("o", -1, ROOT), "size is -1", id="size is not negative"),
        pytest.param(("o", 0, b"short"), "5 bytes; expected 32", id="root is 32 bytes"),
    ],
)
def test_checkpoint_rejects_invalid_fields(fields: tuple[str, int, bytes], message: str) -> None:
    with pytest.raises(NoteError, match=message):
        Checkpoint(*fields)


LINES = st.text(st.characters(min_codepoint=0x20, codec="utf-8"), min_size=1)


@settings(max_examples=200, deadline=None)
@given(
    origin=LINES,
    size=st.integers(min_value=0, max_value=2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(LINES, max_size=3).map(tuple),
)
def test_checkpoint_round_trips(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    checkpoint = Checkpoint(origin, size, root, extensions)
    assert parse_checkpoint(checkpoint.body()) == checkpoint
    note = sign_checkpoint(checkpoint, "example.com/log", OTHER)
    assert open_checkpoint(note, [("example.com/log", OTHER.public_key())]) == checkpoint
