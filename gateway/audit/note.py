"""C2SP signed notes and transparency-log checkpoints with Ed25519 keys.

Implements https://c2sp.org/signed-note and https://c2sp.org/tlog-checkpoint so that
notes interoperate with Go's ``golang.org/x/mod/sumdb/note`` and transparency-dev tools::

    <text, ending in a newline>
    <blank line>
    — <key name> <base64(4-byte key ID || 64-byte Ed25519 signature)>

The signed message is the note text including its final newline.  The key ID is the
first four bytes of ``SHA-256(name || 0x0A || 0x01 || public key)``, and a verifier key
reads ``<name>+<8 hex digits of key ID>+<base64(0x01 || public key)>``.  Base64 is the
RFC 4648 standard alphabet with padding; only the canonical encoding is accepted.

A checkpoint is a note whose text is ``<origin>\\n<tree size>\\n<base64 root hash>\\n``
followed by optional non-empty extension lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Checkpoint",
    "NoteError",
    "Verifiers",
    "add_signature",
    "note_key_id",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_verifier_key",
    "sign_checkpoint",
    "sign_note",
    "verifier_key",
]

MAX_SIGNATURES = 100
"""Most signature lines a note may carry (the limit Go's ``note.Open`` applies)."""
MAX_NOTE_BYTES = 1 << 20
"""Largest encoded note, in UTF-8 bytes, that is signed or opened."""

_ED25519 = 0x01
_EM_DASH = "\u2014 "
_SIZE = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_HEX8 = re.compile(r"[0-9a-fA-F]{8}", re.ASCII)

Verifiers = Mapping[str, Ed25519PublicKey] | Iterable[tuple[str, Ed25519PublicKey] | str]
"""Trusted keys: a name-to-key mapping, or ``(name, key)`` pairs and verifier key strings."""


class NoteError(ValueError):
    """A note, verifier key or checkpoint is malformed or cannot be verified."""


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _check_name(name: str) -> None:
    if not name:
        raise NoteError("key name is empty; expected at least one character")
    if "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"key name {_short(name)} contains '+' or a space; expected neither")


def _check_chars(text: str, what: str) -> None:
    for i, c in enumerate(text):
        if (c < " " and c != "\n") or "\ud800" <= c <= "\udfff":
            raise NoteError(f"{what} has {c!r} at offset {i}; expected UTF-8 without controls")


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} {_short(text)} is not standard base64") from None
    if base64.b64encode(raw).decode() != text:
        raise NoteError(f"{what} {_short(text)} is not canonical base64")
    return raw


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes_raw()


def note_key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """Return the 4-byte key ID of an Ed25519 key named ``name``."""
    data = name.encode() + b"\n" + bytes([_ED25519]) + _raw(public_key)
    return hashlib.sha256(data).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """Return the verifier key string ``<name>+<key ID hex>+<base64 key>``."""
    _check_name(name)
    encoded = base64.b64encode(bytes([_ED25519]) + _raw(public_key)).decode()
    return f"{name}+{note_key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, Ed25519PublicKey, bytes]:
    """Parse a verifier key string into its name, public key and key ID."""
    name, _, rest = text.partition("+")
    id_hex, _, key64 = rest.partition("+")
    _check_name(name)
    if not _HEX8.fullmatch(id_hex):
        raise NoteError(f"key ID {_short(id_hex)} is malformed; expected 8 hex digits")
    key = _b64decode(key64, "verifier key")
    if len(key) != 33 or key[0] != _ED25519:
        found = f"type 0x{key[0]:02x}, {len(key)} bytes" if key else "0 bytes"
        raise NoteError(f"verifier key has {found}; expected type 0x01, 33 bytes")
    public_key = Ed25519PublicKey.from_public_bytes(key[1:])
    key_id = note_key_id(name, public_key)
    if key_id != bytes.fromhex(id_hex):
        raise NoteError(f"key ID mismatch: expected {key_id.hex()}, found {id_hex}")
    return name, public_key, key_id


def _signature_line(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    _check_name(name)
    key_id = note_key_id(name, private_key.public_key())
    signature = private_key.sign(text.encode())
    return f"{_EM_DASH}{name} {base64.b64encode(key_id + signature).decode()}\n"


def _check_size(note: str) -> str:
    size = len(note.encode())
    if size > MAX_NOTE_BYTES:
        raise NoteError(f"note is {size} bytes; expected at most {MAX_NOTE_BYTES}")
    return note


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign ``text`` (which must end in a newline) and return the signed note."""
    _check_chars(text, "note text")
    if not text.endswith("\n"):
        raise NoteError("note text does not end with a newline; expected a final '\\n'")
    return _check_size(text + "\n" + _signature_line(text, name, private_key))


_Signature = tuple[str, bytes, bytes, str]  # name, key ID, signature, line


def _split(note: str | bytes) -> tuple[str, list[_Signature]]:
    if isinstance(note, bytes):
        try:
            note = note.decode()
        except UnicodeDecodeError as exc:
            raise NoteError(f"note is not UTF-8: invalid byte at offset {exc.start}") from None
    _check_chars(note, "note")
    _check_size(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line; expected one before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise NoteError("note has no signature lines; expected at least one")
    if not block.endswith("\n"):
        raise NoteError("note does not end with a newline; expected a final '\\n'")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has {len(lines)} signatures; expected at most {MAX_SIGNATURES}")
    signatures: list[_Signature] = []
    for number, line in enumerate(lines, 1):
        if not line.startswith(_EM_DASH):
            raise NoteError(f"signature line {number} is {_short(line)}; expected '— <name> <b64>'")
        name, _, b64 = line[len(_EM_DASH) :].partition(" ")
        _check_name(name)
        raw = _b64decode(b64, f"signature line {number}")
        if len(raw) < 5:
            raise NoteError(f"signature line {number} has {len(raw)} bytes; expected at least 5")
        signatures.append((name, raw[:4], raw[4:], line))
    return text, signatures


def _index(verifiers: Verifiers) -> dict[tuple[str, bytes], bytes]:
    pairs: list[tuple[str, Ed25519PublicKey, bytes]] = []
    items = verifiers.items() if isinstance(verifiers, Mapping) else verifiers
    for item in items:
        if isinstance(item, str):
            pairs.append(parse_verifier_key(item))
        else:
            _check_name(item[0])
            pairs.append((item[0], item[1], note_key_id(item[0], item[1])))
    index: dict[tuple[str, bytes], bytes] = {}
    for name, public_key, key_id in pairs:
        if index.setdefault((name, key_id), _raw(public_key)) != _raw(public_key):
            raise NoteError(f"ambiguous key {name}+{key_id.hex()}; expected one key per name+ID")
    return index


def open_note(note: str | bytes, verifiers: Verifiers) -> str:
    """Verify ``note`` against trusted keys and return its text.

    Signatures by unknown keys are ignored.  A signature by a known key (same name and
    key ID) that fails to verify rejects the whole note, as does having no signature by
    any known key.
    """
    text, signatures = _split(note)
    index = _index(verifiers)
    verified: set[tuple[str, bytes]] = set()
    unknown: list[str] = []
    for name, key_id, signature, _ in signatures:
        key = index.get((name, key_id))
        if key is None:
            unknown.append(f"{name}+{key_id.hex()}")
            continue
        if (name, key_id) in verified:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(signature, text.encode())
        except InvalidSignature:
            raise NoteError(f"bad signature from key {name}+{key_id.hex()}") from None
        verified.add((name, key_id))
    if not verified:
        raise NoteError(f"unknown key: no trusted key signed the note; found {', '.join(unknown)}")
    return text


def add_signature(note: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Add (or replace) this key's signature on an already signed note.

    Existing signatures are kept but not verified: open the note first if that matters.
    """
    text, signatures = _split(note)
    key_id = note_key_id(name, private_key.public_key())
    kept = "".join(s[3] + "\n" for s in signatures if (s[0], s[1]) != (name, key_id))
    new = _signature_line(text, name, private_key)
    if kept.count("\n") + 1 > MAX_SIGNATURES:
        raise NoteError(f"note has {MAX_SIGNATURES} signatures; expected room for one more")
    return _check_size(text + "\n" + kept + new)


@dataclass(frozen=True)
class Checkpoint:
    """A transparency-log tree head: origin, tree size, root hash and extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, line in [("origin", self.origin)] + [("extension", e) for e in self.extensions]:
            if not line or "\n" in line:
                raise NoteError(f"checkpoint {what} {_short(line)} is invalid; expected one line")
            _check_chars(line, f"checkpoint {what}")
        if not 0 <= self.size < 1 << 64:
            raise NoteError(f"checkpoint size is {self.size}; expected 0 to 2**64-1")
        if len(self.root_hash) != 32:
            raise NoteError(f"root hash is {len(self.root_hash)} bytes; expected 32")

    def body(self) -> str:
        """Return the checkpoint note text."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "".join(line + "\n" for line in [*lines, *self.extensions])


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text (not a signed note) strictly."""
    if not text.endswith("\n"):
        raise NoteError("checkpoint does not end with a newline; expected a final '\\n'")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError(f"checkpoint has {len(lines)} lines; expected at least 3")
    origin, size, root, *extensions = lines
    if not _SIZE.fullmatch(size):
        raise NoteError(f"tree size {_short(size)} is invalid; expected decimal, no leading 0")
    return Checkpoint(origin, int(size), _b64decode(root, "root hash"), tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> str:
    """Return ``checkpoint`` as a note signed by ``private_key``."""
    return sign_note(checkpoint.body(), name, private_key)


def open_checkpoint(
    note: str | bytes, verifiers: Verifiers, *, origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint, check its origin when given, and return it."""
    checkpoint = parse_checkpoint(open_note(note, verifiers))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(
            f"origin mismatch: expected {_short(origin)}, found {_short(checkpoint.origin)}"
        )
    return checkpoint
