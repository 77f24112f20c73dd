"""The gateway's verifier and an independent one, written from docs/audit-log-format.md alone
in JavaScript (tests/audit/independent_verifier.mjs), agree on good and tampered logs.

The gateway is only driven through its CLI, as an auditor would."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from gateway.audit.note import sign_note

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

VERIFIER = Path(__file__).with_name("independent_verifier.mjs")
SIGNING_PREFIX = b"it-support-gateway audit record v1\n"

EVENTS_BEFORE_ROTATION = [
    {
        "type": "manual.action",
        "actor": "elena",
        "action": "printer.reboot",
        "resource": "host:printer-3f",
    },
    {
        "type": "manual.action",
        "actor": "zoë ☃ 😀",
        "action": 'quote " backslash \\ newline \n tab \t bell \x07 del \x7f slash /',
        "resource": "user:zoë",
    },
    {
        "type": "manual.note",
        "actor": "elena",
        "payload": {
            "nested": {"list": [1, -2, True, None, {"b": "x", "a": 9007199254740991}]},
            "\uff61": "BMP key above the surrogates",
            "\U0001f600": "astral key",
            "é": ["ü", {"": ""}],
        },
    },
    {
        "type": "manual.action",
        "actor": "helpdesk",
        "action": "account.reset",
        "resource": "user:bob",
        "payload": {"password": "hunter2", "ticket": "INC-42"},
    },
]
EVENTS_AFTER_ROTATION = [
    {"type": "decision", "actor": "bob", "payload": {"token": "abc", "decision": "allow"}},
    {"type": "manual.action", "actor": "elena", "action": "printer.reboot"},
]
RECORDS = len(EVENTS_BEFORE_ROTATION) + 1 + len(EVENTS_AFTER_ROTATION)
ROTATION = len(EVENTS_BEFORE_ROTATION)


def gateway(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def record(cwd: Path, log: str, event: dict) -> None:
    result = gateway(
        cwd, "audit", "record", "--log", log, "--key", "keys/audit-signing.key",
        "--event", json.dumps(event),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def canonical(value: object) -> bytes:
    """The canonical JSON of the document: sorted keys, no whitespace, characters as themselves."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def verify_both(cwd: Path, log: str = "audit.log", checkpoint: str | None = None):
    extra = ["--checkpoint", checkpoint] if checkpoint else []
    theirs = gateway(cwd, "audit", "verify", "--log", log, "--key", "trusted.pub", "--json", *extra)
    ours = subprocess.run(
        ["node", str(VERIFIER), "--log", log, "--key", "trusted.pub", *extra],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ours.stdout.count("\n") == 1, ours.stdout + ours.stderr
    gateway_result, node_result = json.loads(theirs.stdout), json.loads(ours.stdout)
    assert theirs.returncode == (0 if gateway_result["valid"] else 1), theirs.stderr
    assert ours.returncode == (0 if node_result["valid"] else 1), ours.stderr
    return gateway_result, node_result


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log with unicode, nested payloads, a redacted secret, a key rotation and a checkpoint."""
    root = tmp_path_factory.mktemp("sample")
    assert gateway(root, "keys", "init", "--dir", "keys").returncode == 0
    shutil.copy(root / "keys" / "audit-signing.pub", root / "trusted.pub")
    shutil.copy(root / "keys" / "audit-signing.key", root / "first.key")
    for event in EVENTS_BEFORE_ROTATION:
        record(root, "audit.log", event)
    rotated = gateway(root, "keys", "rotate", "--log", "audit.log", "--dir", "keys")
    assert rotated.returncode == 0, rotated.stderr
    for event in EVENTS_AFTER_ROTATION:
        record(root, "audit.log", event)
    checkpoint = gateway(
        root, "audit", "checkpoint", "--log", "audit.log", "--key", "keys/audit-signing.key",
        "--out", "cp.txt",
    )  # fmt: skip
    assert checkpoint.returncode == 0, checkpoint.stderr
    return root


@pytest.fixture
def work(sample: Path, tmp_path: Path) -> Path:
    shutil.copytree(sample, tmp_path, dirs_exist_ok=True)
    return tmp_path


def read_lines(work: Path) -> list[bytes]:
    data = (work / "audit.log").read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def write_lines(work: Path, lines: list[bytes]) -> None:
    (work / "audit.log").write_bytes(b"".join(line + b"\n" for line in lines))


def test_the_sample_log_has_what_the_tampering_cases_rely_on(sample: Path) -> None:
    records = [json.loads(line) for line in read_lines(sample)]
    assert [r["seq"] for r in records] == list(range(RECORDS))
    assert records[ROTATION]["type"] == "audit.key_rotated"
    assert records[1]["actor"] == "zoë ☃ 😀"
    assert records[3]["payload"]["password"] == "[redacted]"
    assert "payload.password" in records[3]["redacted"]
    assert "hunter2" not in (sample / "audit.log").read_text(encoding="utf-8")
    assert len({r["key_id"] for r in records}) == 2


@pytest.mark.parametrize(
    "checkpoint",
    [None, "cp.txt"],
    ids=["both verifiers accept the good log", "both accept it against its own checkpoint"],
)
def test_both_verifiers_accept_the_good_log_alike(sample: Path, checkpoint: str | None) -> None:
    theirs, ours = verify_both(sample, checkpoint=checkpoint)
    assert theirs["valid"] is True
    assert ours["valid"] is True
    assert ours["records"] == theirs["records"] == RECORDS
    assert ours["head_hash"] == theirs["head_hash"]
    assert ours["head_hash"] == hashlib.sha256(read_lines(sample)[-1]).hexdigest()
    assert ours["root_hash"] == theirs["root_hash"]


def test_both_verifiers_accept_an_empty_log_with_the_empty_tree_root(work: Path) -> None:
    (work / "audit.log").write_bytes(b"")
    theirs, ours = verify_both(work)
    assert theirs["valid"] is ours["valid"] is True
    assert theirs["records"] == ours["records"] == 0
    empty_root = base64.b64encode(hashlib.sha256(b"").digest()).decode()
    assert theirs["root_hash"] == ours["root_hash"] == empty_root


def test_both_verifiers_accept_a_quarantined_torn_tail_alike(work: Path) -> None:
    with (work / "audit.log").open("ab") as log:
        log.write(b'{"action":"half a rec')
    record(work, "audit.log", {"type": "manual.action", "actor": "elena"})
    types = [json.loads(line)["type"] for line in read_lines(work)]
    assert types[-2:] == ["audit.tail_quarantined", "manual.action"]
    theirs, ours = verify_both(work)
    assert theirs["valid"] is ours["valid"] is True
    assert (theirs["records"], theirs["head_hash"], theirs["root_hash"]) == (
        ours["records"],
        ours["head_hash"],
        ours["root_hash"],
    )


# ---------------------------------------------------------------------------
# Tampering. Each case edits a copy of the sample and names where and how both must fail.

Tamper = Callable[[Path], "str | None"]  # edits the copy; returns the checkpoint to use, if any


def edit_record(index: int, change: Callable[[dict], None]) -> Tamper:
    def tamper(work: Path) -> None:
        lines = read_lines(work)
        value = json.loads(lines[index])
        change(value)
        lines[index] = canonical(value)
        write_lines(work, lines)

    return tamper


def edit_bytes(index: int, old: bytes, new: bytes) -> Tamper:
    def tamper(work: Path) -> None:
        lines = read_lines(work)
        assert old in lines[index]
        lines[index] = lines[index].replace(old, new, 1)
        write_lines(work, lines)

    return tamper


def delete_line(index: int) -> Tamper:
    def tamper(work: Path) -> None:
        lines = read_lines(work)
        del lines[index]
        write_lines(work, lines)

    return tamper


def swap_lines(a: int, b: int) -> Tamper:
    def tamper(work: Path) -> None:
        lines = read_lines(work)
        lines[a], lines[b] = lines[b], lines[a]
        write_lines(work, lines)

    return tamper


def truncate_with_checkpoint(keep: int) -> Tamper:
    def tamper(work: Path) -> str:
        write_lines(work, read_lines(work)[:keep])
        return "cp.txt"

    return tamper


def replay_line(index: int) -> Tamper:
    def tamper(work: Path) -> None:
        lines = read_lines(work)
        write_lines(work, [*lines, lines[index]])

    return tamper


def flip_signature_character(index: int, position: int) -> Tamper:
    def change(value: dict) -> None:
        sig = value["sig"]
        flipped = "B" if sig[position] == "A" else "A"
        value["sig"] = sig[:position] + flipped + sig[position + 1 :]

    return edit_record(index, change)


def sign_with_the_first_key_id(index: int) -> Tamper:
    def tamper(work: Path) -> None:
        first_key_id = json.loads(read_lines(work)[0])["key_id"]
        edit_record(index, lambda value: value.update(key_id=first_key_id))(work)

    return tamper


def rewrite_history_after_checkpoint(work: Path) -> str:
    """Drop the last record and append a different, properly signed one in its place."""
    write_lines(work, read_lines(work)[:-1])
    record(work, "audit.log", {"type": "manual.action", "actor": "mallory", "action": "cover.up"})
    return "cp.txt"


def foreign_checkpoint(work: Path) -> str:
    assert gateway(work, "keys", "init", "--dir", "foreign").returncode == 0
    result = gateway(
        work, "audit", "checkpoint", "--log", "audit.log", "--key", "foreign/audit-signing.key",
        "--out", "foreign-cp.txt",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return "foreign-cp.txt"


def resign(index: int, key_file: str, change: Callable[[dict], None]) -> Tamper:
    """Edit a record and sign it again with ``key_file``, as a forger holding that key."""

    def tamper(work: Path) -> None:
        lines = read_lines(work)
        value = json.loads(lines[index])
        change(value)
        value.pop("sig")
        key = load_pem_private_key((work / key_file).read_bytes(), None)
        signature = key.sign(SIGNING_PREFIX + canonical(value))
        value["sig"] = base64.b64encode(signature).decode()
        lines[index] = canonical(value)
        write_lines(work, lines)

    return tamper


def resign_last(change: Callable[[dict], None]) -> Tamper:
    """Edit the last record and sign it again with the key in force, as a forger with the key."""
    return resign(-1, "keys/audit-signing.key", change)


def resign_rotation(change: Callable[[dict], None]) -> Tamper:
    """Edit the key rotation record and sign it again with the first key."""
    return resign(ROTATION, "first.key", lambda value: change(value["payload"]))


def nested(levels: int) -> list:
    """``levels`` arrays, one inside the other."""
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def nest_payload(levels: int) -> Callable[[dict], None]:
    """Put ``levels`` nested arrays in the payload, whose own depth is 1."""
    return lambda record: record["payload"].update(deep=nested(levels))


def space_in_new_key(payload: dict) -> None:
    payload["new_public_key"] = (
        payload["new_public_key"][:32] + " " + payload["new_public_key"][32:]
    )


def torn_tail(work: Path) -> None:
    (work / "audit.log").write_bytes((work / "audit.log").read_bytes()[:-1])


def resigned_checkpoint(edit: Callable[[list[str]], list[str]], extra: str = "") -> Tamper:
    """The sample checkpoint with its text lines edited, signed again by the key in force
    (``extra`` is appended after its signature line)."""

    def tamper(work: Path) -> str:
        text = (work / "cp.txt").read_text(encoding="utf-8").split("\n\n")[0]
        lines = edit(text.split("\n"))
        key = load_pem_private_key((work / "keys" / "audit-signing.key").read_bytes(), None)
        note = sign_note("".join(line + "\n" for line in lines), lines[0], key)
        (work / "edited-cp.txt").write_text(note + extra, encoding="utf-8")
        return "edited-cp.txt"

    return tamper


BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def root_with_padding_bits(lines: list[str]) -> list[str]:
    """The root hash with a padding bit set: the same 32 bytes, not canonical base64."""
    root = lines[2]
    assert root.endswith("=")
    assert not root.endswith("==")
    last = BASE64_ALPHABET.index(root[-2])
    lines[2] = root[:-2] + BASE64_ALPHABET[last | 1] + "="
    return lines


def crlf_checkpoint(work: Path) -> str:
    text = (work / "cp.txt").read_bytes()
    (work / "crlf-cp.txt").write_bytes(text.replace(b"\n", b"\r\n"))
    return "crlf-cp.txt"


LAST = RECORDS - 1
TAMPERING = [
    pytest.param(
        edit_record(1, lambda r: r.update(actor="mallory")), 1, "bad signature",
        id="an edited field in one line is a bad signature at that line",
    ),
    pytest.param(
        delete_line(2), 2, "gap",
        id="a deleted line is a gap where it was",
    ),
    pytest.param(
        swap_lines(2, 3), 2, "gap",
        id="two swapped lines are a gap at the first of them",
    ),
    pytest.param(
        truncate_with_checkpoint(LAST - 1), LAST - 1, "shorter than checkpoint",
        id="a log truncated by whole records is shorter than the checkpoint",
    ),
    pytest.param(
        replay_line(0), RECORDS, "out of order",
        id="a replayed first line appended at the end is out of order",
    ),
    pytest.param(
        flip_signature_character(LAST, 10), LAST, "bad signature",
        id="one flipped base64 character of a signature is a bad signature",
    ),
    pytest.param(
        flip_signature_character(ROTATION, 0), ROTATION, "bad signature",
        id="a flipped signature on the key rotation is a bad signature",
    ),
    pytest.param(
        edit_bytes(2, b'":', b'": '), 2, "malformed record",
        id="a space after a colon is not canonical",
    ),
    pytest.param(
        edit_bytes(1, "zoë".encode(), b"zo\\u00eb"), 1, "malformed record",
        id="an escaped non ascii character is not canonical",
    ),
    pytest.param(
        edit_bytes(0, b'"v":1}', b'"v":1.0}'), 0, "malformed record",
        id="a fraction where an integer belongs is not canonical",
    ),
    pytest.param(
        edit_bytes(0, b'{"action"', b'{"action":null,"action"'), 0, "malformed record",
        id="a duplicate member is not canonical",
    ),
    pytest.param(
        edit_bytes(3, b"{", b""), 3, "malformed record",
        id="a line that is not json is malformed",
    ),
    pytest.param(
        sign_with_the_first_key_id(LAST), LAST, "unknown key",
        id="the retired key id after the rotation is an unknown key",
    ),
    pytest.param(
        rewrite_history_after_checkpoint, LAST, "checkpoint mismatch",
        id="history rewritten after a checkpoint is a checkpoint mismatch at its last line",
    ),
    pytest.param(
        resign_last(lambda r: r.update(time="2026-01-01T00:00:00Z")), LAST, "malformed record",
        id="a time without six fraction digits is malformed even when signed",
    ),
    pytest.param(
        resign_last(lambda r: r.update(type="Manual.Action")), LAST, "malformed record",
        id="an event type with capitals is malformed even when signed",
    ),
    pytest.param(
        resign_last(lambda r: r.update(extra=1)), LAST, "malformed record",
        id="an extra member is malformed even when signed",
    ),
    pytest.param(
        resign_last(lambda r: r.update(prev="0" * 64)), LAST, "broken chain",
        id="a signed record pointing at the wrong previous hash is a broken chain",
    ),
    pytest.param(
        resign_last(lambda r: r["payload"].update(big=2**53)), LAST, "malformed record",
        id="an integer beyond two to the fifty third minus one is malformed",
    ),
    pytest.param(
        foreign_checkpoint, None, "bad checkpoint",
        id="a checkpoint signed by a foreign key is rejected",
    ),
    pytest.param(
        torn_tail, LAST, "malformed record",
        id="a last line without its newline is malformed",
    ),
    pytest.param(
        resign_last(lambda r: r.update(seq=-1)), LAST, "malformed record",
        id="a negative seq is a malformed record",
    ),
    pytest.param(
        crlf_checkpoint, None, "bad checkpoint",
        id="a checkpoint with crlf line endings is not a signed note",
    ),
    pytest.param(
        resign_last(lambda r: r.update(time="\u0662\u0660\u0662\u0666-01-01T00:00:00.000000Z")),
        LAST, "malformed record",
        id="a time with arabic indic digits is malformed even when signed",
    ),
    pytest.param(
        resign_last(lambda r: r.update(time=r["time"] + "\n")), LAST, "malformed record",
        id="a time with a trailing newline is malformed even when signed",
    ),
    pytest.param(
        resign_rotation(lambda p: p.update(new_public_key=p["new_public_key"] + "\n")),
        ROTATION, "malformed record",
        id="a new public key with a trailing newline is malformed even when signed",
    ),
    pytest.param(
        resign_rotation(lambda p: p.update(new_public_key=" " + p["new_public_key"])),
        ROTATION, "malformed record",
        id="a new public key with a leading space is malformed even when signed",
    ),
    pytest.param(
        resign_rotation(space_in_new_key), ROTATION, "malformed record",
        id="a new public key with a space inside is malformed even when signed",
    ),
    pytest.param(
        resigned_checkpoint(lambda lines: [lines[0], "0" + lines[1], *lines[2:]]), None,
        "bad checkpoint", id="a checkpoint size with a leading zero is a bad checkpoint",
    ),
    pytest.param(
        resigned_checkpoint(lambda lines: [lines[0], str(2**64), *lines[2:]]), None,
        "bad checkpoint", id="a checkpoint size of two to the sixty fourth is a bad checkpoint",
    ),
    pytest.param(
        resigned_checkpoint(root_with_padding_bits), None, "bad checkpoint",
        id="a checkpoint root in non canonical base64 is a bad checkpoint",
    ),
    pytest.param(
        resigned_checkpoint(lambda lines: [*lines, ""]), None, "bad checkpoint",
        id="an empty checkpoint extension line is a bad checkpoint",
    ),
    pytest.param(
        resigned_checkpoint(lambda lines: lines, "\u2014 other+name AAAAAAAA\n"), None,
        "bad checkpoint", id="a signature line whose name holds a plus is a bad checkpoint",
    ),
    pytest.param(
        resigned_checkpoint(lambda lines: lines, "\u2014 other AAAAAAAA\n" * 100), None,
        "bad checkpoint", id="a note with more than 100 signature lines is a bad checkpoint",
    ),
    pytest.param(
        resign_last(nest_payload(100)), LAST, "malformed record",
        id="a record nested 101 levels deep is malformed even when signed",
    ),
    pytest.param(
        resign_last(nest_payload(600)), LAST, "malformed record",
        id="a record nested 600 levels deep is malformed",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            resigned_checkpoint(lambda lines: [*lines, "extension: any text"]),
            id="a checkpoint with an extension line",
        ),
        pytest.param(
            resigned_checkpoint(lambda lines: lines, "\u2014 other AAAAAAAA\n"),
            id="a checkpoint with a signature line by an unknown key",
        ),
    ],
)
def test_both_verifiers_accept_a_checkpoint_with_what_the_grammar_allows(
    work: Path, tamper: Tamper
) -> None:
    checkpoint = tamper(work)

    theirs, ours = verify_both(work, checkpoint=checkpoint)

    assert theirs["valid"] is ours["valid"] is True, (theirs, ours)


def test_both_verifiers_accept_a_record_nested_exactly_100_levels_deep(work: Path) -> None:
    resign_last(nest_payload(99))(work)

    theirs, ours = verify_both(work)

    assert theirs["valid"] is ours["valid"] is True
    assert theirs["head_hash"] == ours["head_hash"]


@pytest.mark.parametrize(("tamper", "sequence", "kind"), TAMPERING)
def test_both_verifiers_reject_tampering_at_the_same_record(
    work: Path, tamper: Tamper, sequence: int | None, kind: str
) -> None:
    checkpoint = tamper(work)
    theirs, ours = verify_both(work, checkpoint=checkpoint)
    assert theirs["valid"] is False, theirs
    assert ours["valid"] is False, ours
    assert (ours["sequence"], ours["kind"]) == (theirs["sequence"], theirs["kind"])
    assert (ours["sequence"], ours["kind"]) == (sequence, kind)
