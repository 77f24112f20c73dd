"""The README is a test: every line of its shell blocks runs, in order, in one scratch copy
of the repository, and exits as the README says.

Lines the suite cannot run as written are few and named here: ``make run`` runs what its
Makefile recipe runs (``gateway demo``), ``make test`` is this suite, and ``gateway serve``
serves (on a free port, until the end of its block) for the ``curl`` lines that follow it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.readme_walkthrough import PLACEHOLDERS, Command, Walk, read_blocks, split_comment

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
GATEWAY = Path(sys.executable).parent / "gateway"

# What a fresh checkout holds that the README's commands read (no var/, no private keys).
CHECKOUT = ("policies", "automations", "keys/README.md", "README.md", "Makefile")

# Lines that do not run here, each with the reason; a new one fails the test.
NOT_RUN = {"make test": "the whole suite, this test included"}
SERVER = "gateway serve"
SERVER_URL = re.compile(r"gateway API on (http://\S+)")
README_URL = "localhost:8080"


def scratch_checkout(root: Path) -> Path:
    for name in CHECKOUT:
        source, target = REPO / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    return root


def make_recipe(target: str) -> list[str]:
    """The commands of one Makefile target, ``$(BIN)/`` dropped (``gateway`` is on PATH)."""
    lines = (REPO / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(at for at, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().replace("$(BIN)/", ""))
    return recipe


@contextmanager
def serving(walk: Walk, command: Command) -> Iterator[str]:
    """``gateway serve`` on a free port in the background; yields its URL."""
    server = subprocess.Popen(
        ["bash", "-c", f"exec {command.text} --port 0 --no-access-log"],
        cwd=walk.workdir,
        env={**walk.env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        found = SERVER_URL.search(first)
        assert found is not None, f"{command}: printed {first!r}, {server.stderr}"
        url = found.group(1)
        wait_until_answering(url, server)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=60)
    # uvicorn shuts down cleanly, then ends by the signal it was sent
    stopped = server.returncode in (0, -signal.SIGTERM) and "Finished server process" in errors
    assert stopped, f"{command}: stopped with {server.returncode}: {errors}"


def wait_until_answering(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while server.poll() is None and time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/healthz", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"gateway serve did not answer at {url}")


def check(walk: Walk, command: Command, text: str) -> None:
    result = walk.run(text)
    assert result.returncode == command.expected_exit, (
        f"{command}\n  ran: {text}\n  exit {result.returncode}, the README says "
        f"{command.expected_exit}\n{result.stdout}\n{result.stderr}"
    )


@pytest.fixture
def walk(tmp_path: Path) -> Walk:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GATEWAY_", "COV_", "COVERAGE_"))
    }
    env["PATH"] = f"{GATEWAY.parent}{os.pathsep}{env.get('PATH', '')}"
    return Walk(scratch_checkout(tmp_path / "checkout"), env)


def test_every_shell_block_of_the_readme_runs_in_order_as_documented(walk: Walk) -> None:
    assert make_recipe("run") == ["gateway demo"], "the README's `make run` is `gateway demo`"
    not_run: list[str] = []
    for block in read_blocks(README):
        with ExitStack() as stack:
            url = README_URL
            for command in block:
                if command.text in NOT_RUN:
                    not_run.append(command.text)
                    continue
                if command.text == SERVER:
                    url = stack.enter_context(serving(walk, command)).removeprefix("http://")
                    continue
                text = walk.fill(command).replace(README_URL, url)
                if command.text == "make run":
                    text = " && ".join(make_recipe("run"))
                check(walk, command, text)
    assert not_run == list(NOT_RUN)


def test_the_readme_has_shell_blocks_and_documents_its_placeholders() -> None:
    commands = [command for block in read_blocks(README) for command in block]
    assert len(commands) > 40
    text = "\n".join(command.text for command in commands)
    for name in PLACEHOLDERS:
        assert name in text, f"{name} is no longer in the README: drop it from PLACEHOLDERS"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("gateway demo   # what it runs", ("gateway demo", "what it runs")),
        ("gateway kb search '# not a comment'", ("gateway kb search '# not a comment'", "")),
        ('curl -d \'{"a": "#"}\' # posts', ('curl -d \'{"a": "#"}\'', "posts")),
        ("gateway x#y", ("gateway x#y", "")),
    ],
    ids=[
        "a trailing comment is split off",
        "a hash inside single quotes is kept",
        "a hash inside a JSON body is kept",
        "a hash inside a word is kept",
    ],
)
def test_a_readme_line_is_split_from_its_comment(line: str, expected: tuple[str, str]) -> None:
    assert split_comment(line) == expected


def test_a_readme_block_reads_as_commands_with_their_documented_exit_codes(
    tmp_path: Path,
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "Intro\n\n```sh\ngateway run x --actor tom   # exit 6: waits for a step-up\n"
        "gateway authorize --actor a \\\n    --context k=v   # a note, exit 3 is not documented\n"
        "                                # a comment line\n```\n\n```json\n{}\n```\n",
        encoding="utf-8",
    )
    assert read_blocks(readme) == [
        [
            Command(0, 4, "gateway run x --actor tom", 6),
            Command(0, 5, "gateway authorize --actor a --context k=v", 0),
        ]
    ]
