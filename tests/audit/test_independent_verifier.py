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


# ---------------------------------------------------------------------------
# Field kits: a kit's device-signed segments merged into the central log.

REPO = Path(__file__).resolve().parents[2]


def offline_cli(*args: str) -> str:
    from click.testing import CliRunner

    from gateway.cli import cli

    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def kit_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A central log with a kit prepared, then merged in two segments (3 records, then 1)."""
    root = tmp_path_factory.mktemp("kit")
    shutil.copytree(REPO / "policies", root / "policies")
    shutil.copytree(REPO / "automations", root / "automations")
    (root / "gateway.toml").write_text(
        "[runtime]\nworkflows = 'automations/workflows'\n"
        "[troubleshooting]\ntrees = 'automations/troubleshooting'\n"
        "[selfservice]\ncatalog = 'automations/catalog'\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        prepared = offline_cli(
            "offline", "prepare", "--technician", "elena", "--site", "branch-7", "--json"
        )
        kit = str(json.loads(prepared)["kit"])
        segment = kit.removesuffix(".kit.json") + ".segment.log"
        diagnose = ("authorize", "--actor", "elena", "--action", "diagnostics.run")
        offline_cli("--offline", kit, *diagnose, "--resource", "host:tom-laptop")
        offline_cli(
            "--offline", kit, "offline", "request", "--queue", "--actor", "elena",
            "--action", "password.reset", "--resource", "account:tom",
            "--workflow", "password-reset", "--param", "user=tom",
        )  # fmt: skip
        offline_cli("offline", "sync", segment, "--json")
        offline_cli("--offline", kit, *diagnose, "--resource", "host:printer-3f")
        offline_cli("offline", "sync", segment, "--json")
    shutil.copy(root / "keys" / "audit-signing.pub", root / "trusted.pub")
    shutil.copy(root / "var" / "audit.log", root / "audit.log")
    return root


@pytest.fixture
def kit_work(kit_sample: Path, tmp_path: Path) -> Path:
    shutil.copytree(kit_sample, tmp_path, dirs_exist_ok=True)
    return tmp_path


def central_records(work: Path) -> list[dict]:
    return [json.loads(line) for line in read_lines(work)]


def batches(work: Path) -> list[int]:
    """The sequence numbers of the central records carrying segment lines."""
    return [r["seq"] for r in central_records(work) if r["type"] == "offline.record"]


Records = list[dict]


def forge(edit: Callable[[Records], None]) -> Callable[[Path], None]:
    """Edit the central records, then number, chain and sign them all again with the central
    key (the kit's log has no rotation): a forger holding the central key, so only the
    device-signed lines and the merge bookkeeping can tell."""

    def tamper(work: Path) -> None:
        records = central_records(work)
        edit(records)
        key = load_pem_private_key((work / "keys/audit-signing.key").read_bytes(), None)
        prev, lines = "0" * 64, []
        for seq, value in enumerate(records):
            value.pop("sig")
            value.update(seq=seq, prev=prev)
            value["sig"] = base64.b64encode(key.sign(SIGNING_PREFIX + canonical(value))).decode()
            lines.append(canonical(value))
            prev = hashlib.sha256(lines[-1]).hexdigest()
        write_lines(work, lines)

    return tamper


def in_batch(batch: int, change: Callable[[dict], None]) -> Callable[[Records], None]:
    def edit(records: Records) -> None:
        change([r for r in records if r["type"] == "offline.record"][batch])

    return edit


def in_merge(merge: int, change: Callable[[dict], None]) -> Callable[[Records], None]:
    def edit(records: Records) -> None:
        change([r for r in records if r["type"] == "offline.segment_merged"][merge]["payload"])

    return edit


def device_resigned(change: Callable[[dict], None]) -> Callable[[dict], None]:
    """Edit the last line of a batch and sign it again with the kit's device key, as a
    forger who stole the laptop (the line's hash changes, no later line chains from it)."""

    def edit(record: dict) -> None:
        kit = json.loads(next(Path.cwd().glob("var/offline/kits/*.kit.json")).read_text())
        key = load_pem_private_key(kit["kit"]["device_private_key"].encode(), None)
        line = json.loads(record["payload"]["lines"][-1])
        change(line)
        line.pop("sig")
        line["sig"] = base64.b64encode(key.sign(SIGNING_PREFIX + canonical(line))).decode()
        record["payload"]["lines"][-1] = canonical(line).decode()

    return edit


def edit_device_line(position: int, change: Callable[[dict], None]) -> Callable[[dict], None]:
    def edit(record: dict) -> None:
        line = json.loads(record["payload"]["lines"][position])
        change(line)
        record["payload"]["lines"][position] = canonical(line).decode()

    return edit


def drop_device_line(position: int) -> Callable[[dict], None]:
    def edit(record: dict) -> None:
        del record["payload"]["lines"][position]

    return edit


def forge_device_signature(line: dict) -> None:
    """Sign the line again with a key that is not the kit's device key, keeping its key id."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    line["actor"] = "mallory"
    line.pop("sig")
    signature = Ed25519PrivateKey.generate().sign(SIGNING_PREFIX + canonical(line))
    line["sig"] = base64.b64encode(signature).decode()


def kit_manifest() -> dict:
    return json.loads(next(Path.cwd().glob("var/offline/kits/*.kit.json")).read_text())["kit"][
        "manifest"
    ]


def at_kit(bound: str) -> Callable[[dict], None]:
    """Set the line's time to the kit's ``issued`` or ``expires`` time exactly."""

    def change(line: dict) -> None:
        line["time"] = kit_manifest()[bound]

    return change


def drop_second_batch(records: Records) -> None:
    records.remove([r for r in records if r["type"] == "offline.record"][1])


def revoke_before_second_merge(records: Records) -> None:
    merge = [r for r in records if r["type"] == "offline.segment_merged"][1]
    revoked = dict(
        merge, type="offline.kit_revoked", payload={"kit_id": merge["payload"]["kit_id"]}
    )
    records.insert(records.index(merge), revoked)


def test_both_verifiers_accept_a_kit_merged_in_two_segments(kit_sample: Path) -> None:
    records = central_records(kit_sample)
    merges = [r["payload"] for r in records if r["type"] == "offline.segment_merged"]
    assert [(m["segment"], m["first"], m["records"]) for m in merges] == [(1, 0, 3), (2, 3, 1)]
    assert merges[1]["start_prev"] == merges[0]["head_hash"]

    theirs, ours = verify_both(kit_sample)

    assert theirs["valid"] is ours["valid"] is True, (theirs, ours)
    assert theirs["records"] == ours["records"] == len(records)
    assert theirs["head_hash"] == ours["head_hash"]


KIT_TAMPERING = [
    pytest.param(
        in_batch(0, edit_device_line(1, lambda line: line.update(actor="mallory"))),
        0,
        "segment record 1: bad signature",
        id="an altered device line in the first segment",
    ),
    pytest.param(
        in_batch(1, edit_device_line(0, lambda line: line.update(resource="host:other"))),
        1,
        "segment record 3: bad signature",
        id="an altered device line in the second segment",
    ),
    pytest.param(
        in_batch(0, drop_device_line(1)),
        0,
        "segment record 1: gap",
        id="a dropped device line",
    ),
    pytest.param(
        in_batch(0, edit_device_line(2, forge_device_signature)),
        0,
        "segment record 2: bad signature",
        id="a forged device signature",
    ),
    pytest.param(
        in_batch(1, device_resigned(lambda line: line.update(time="2999-01-01T00:00:00.000000Z"))),
        1,
        "segment record 3: outside validity",
        id="a device line after the kit expired",
    ),
    pytest.param(
        in_batch(1, device_resigned(lambda line: line.update(time="2000-01-01T00:00:00.000000Z"))),
        1,
        "segment record 3: outside validity",
        id="a device line before the kit was issued",
    ),
    pytest.param(
        in_batch(1, device_resigned(at_kit("expires"))),
        1,
        "segment record 3: outside validity",
        id="a device line at the kit's expiry",
    ),
    pytest.param(
        in_batch(1, device_resigned(at_kit("issued"))),
        1,
        "segment record 3: clock went backwards",
        id="a second segment whose clock ran back to the kit's issue",
    ),
    pytest.param(
        in_batch(1, device_resigned(lambda line: line.update(type="audit.key_rotated"))),
        1,
        "segment record 3: unknown key",
        id="a key rotation in a segment",
    ),
    pytest.param(
        in_batch(1, device_resigned(lambda line: line.update(policy_digest="sha256:00"))),
        1,
        "segment record 3: policy mismatch",
        id="a device line decided under another policy",
    ),
    pytest.param(
        in_batch(1, device_resigned(lambda line: line.update(prev="0" * 64))),
        1,
        "segment record 3: broken chain",
        id="a second segment not chained from the first",
    ),
]


@pytest.mark.parametrize(("edit", "batch", "named"), KIT_TAMPERING)
def test_both_verifiers_reject_a_tampered_device_line_at_the_same_record(
    kit_work: Path, monkeypatch: pytest.MonkeyPatch, edit: Callable[[Records], None], batch: int,
    named: str,
) -> None:  # fmt: skip
    monkeypatch.chdir(kit_work)
    forge(edit)(kit_work)
    carrier = batches(kit_work)[batch]

    theirs, ours = verify_both(kit_work)

    assert theirs["valid"] is False, theirs
    assert ours["valid"] is False, ours
    assert (ours["sequence"], ours["kind"]) == (theirs["sequence"], theirs["kind"])
    assert (ours["sequence"], ours["kind"]) == (carrier, "bad segment")
    assert named in ours["error"], ours
    assert named in theirs["error"], theirs


def merge_record(merge: int) -> Callable[[Path], int]:
    def seq(work: Path) -> int:
        return [r["seq"] for r in central_records(work) if r["type"] == "offline.segment_merged"][
            merge
        ]

    return seq


KIT_MERGE_TAMPERING = [
    pytest.param(
        in_merge(1, lambda p: p.update(first=2)),
        merge_record(1),
        "bad segment",
        id="a merge that repeats a merged record",
    ),
    pytest.param(
        in_merge(1, lambda p: p.update(start_prev="0" * 64)),
        merge_record(1),
        "bad segment",
        id="a merge that forks from the kit's chain",
    ),
    pytest.param(
        in_merge(1, lambda p: p.update(segment=1)),
        merge_record(1),
        "bad segment",
        id="a merge numbered out of turn",
    ),
    pytest.param(
        in_merge(1, lambda p: p.update(segment=True)),
        merge_record(1),
        "malformed record",
        id="a merge number that is a boolean",
    ),
    pytest.param(
        in_merge(1, lambda p: p.update(kit_id="kit-0000000000000000")),
        merge_record(1),
        "unknown kit",
        id="a merge of no enrolled kit",
    ),
    pytest.param(
        revoke_before_second_merge,
        merge_record(1),
        "revoked kit",
        id="a merge after the kit was revoked",
    ),
    pytest.param(
        in_merge(1, lambda p: p.update(head_hash="0" * 64)),
        lambda work: batches(work)[1],
        "bad segment",
        id="a merge whose head hash is not its last line's",
    ),
    pytest.param(
        in_batch(1, lambda r: r["payload"].update(first=4)),
        lambda work: batches(work)[1],
        "malformed record",
        id="a batch that does not start at the merge's next line",
    ),
    pytest.param(
        in_merge(1, lambda p: p.pop("first")),
        merge_record(1),
        "bad segment",
        id="a second merge without first reads it as 0",
    ),
    pytest.param(
        drop_second_batch,
        lambda work: len(read_lines(work)),
        "incomplete merge",
        id="a merge whose batch is missing",
    ),
]


@pytest.mark.parametrize(("edit", "sequence", "kind"), KIT_MERGE_TAMPERING)
def test_both_verifiers_reject_a_broken_merge_at_the_same_record(
    kit_work: Path, edit: Callable[[Records], None], sequence: Callable[[Path], int], kind: str
) -> None:
    forge(edit)(kit_work)

    theirs, ours = verify_both(kit_work)

    assert theirs["valid"] is False, theirs
    assert ours["valid"] is False, ours
    assert (ours["sequence"], ours["kind"]) == (theirs["sequence"], theirs["kind"])
    assert (ours["sequence"], ours["kind"]) == (sequence(kit_work), kind)


def older_single_line_form(record: dict) -> None:
    payload = record["payload"]
    [line] = payload["lines"]
    record["payload"] = {"kit_id": payload["kit_id"], "index": payload["first"], "line": line}


def without_multi_merge_members(payload: dict) -> None:
    for member in ("segment", "first", "start_prev"):
        del payload[member]


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(in_batch(1, older_single_line_form), id="a line in the older one-line form"),
        pytest.param(
            in_merge(0, without_multi_merge_members), id="a first merge from before several merges"
        ),
    ],
)
def test_both_verifiers_accept_the_older_merge_forms(
    kit_work: Path, edit: Callable[[Records], None]
) -> None:
    forge(edit)(kit_work)

    theirs, ours = verify_both(kit_work)

    assert theirs["valid"] is ours["valid"] is True, (theirs, ours)
    assert theirs["head_hash"] == ours["head_hash"]
