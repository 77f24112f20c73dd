"""The README's shell blocks as commands a test can run, in order, as a reader would.

A reader copies each line of each ```` ```sh ```` block into a shell, in order, in a fresh
checkout. This module reads the blocks, joins backslash continuations, reads the exit code a
line documents (a comment ``# exit N: ...``; 0 otherwise), fills the placeholders a reader
fills from what earlier commands printed (``PLACEHOLDERS``) and answers the prompts a reader
answers (the step-up code from their authenticator app).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pyotp

__all__ = [
    "PLACEHOLDERS",
    "TYPED",
    "Capture",
    "Command",
    "Walk",
    "read_blocks",
    "split_comment",
]

FENCE = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
EXIT = re.compile(r"^exit (\d+):")
ASSIGNMENT = re.compile(r"^([A-Z][A-Z_]*)=\$\((.*)\)$")
PLACEHOLDER = re.compile(r"(?!(?:GET|POST|PUT|PATCH|DELETE)$)[A-Z][A-Z_]+")  # not a method
PROVISIONING = re.compile(r"otpauth://totp/[^\s]*")


@dataclass(frozen=True)
class Command:
    """One command line of the README: what runs, what it should exit with, where it is."""

    block: int
    line: int  # 1-based line number of its first line in README.md
    text: str  # the command, continuations joined, the comment removed
    expected_exit: int

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.text}"


def split_comment(line: str) -> tuple[str, str]:
    """``line`` without its trailing ``# comment`` (outside quotes), and the comment."""
    quote = ""
    for at, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (at == 0 or line[at - 1].isspace()):
            return line[:at].rstrip(), line[at + 1 :].strip()
    return line.rstrip(), ""


def read_blocks(readme: Path) -> list[list[Command]]:
    """Every ```` ```sh ```` block of ``readme``, as its commands in order."""
    text = readme.read_text(encoding="utf-8")
    blocks: list[list[Command]] = []
    for number, match in enumerate(FENCE.finditer(text)):
        first = text.count("\n", 0, match.start(1)) + 1
        commands: list[Command] = []
        pending: list[str] = []
        start = first
        comment = ""
        for offset, raw in enumerate(match.group(1).splitlines()):
            if not pending:
                start = first + offset
            code, note = split_comment(raw)
            comment = comment or note
            if code.endswith("\\"):
                pending.append(code[:-1].strip())
                continue
            joined = " ".join([*pending, code.strip()]).strip()
            pending = []
            if joined:
                documented = EXIT.match(comment)
                status = int(documented.group(1)) if documented else 0
                commands.append(Command(number, start, joined, status))
            comment = ""
        blocks.append(commands)
    return blocks


@dataclass(frozen=True)
class Capture:
    """Where a reader finds the value of a placeholder: the first match of ``pattern`` in
    the output of the latest command that printed one."""

    pattern: re.Pattern[str]
    meaning: str


# The placeholders of the README, each filled from what an earlier command printed.
PLACEHOLDERS: dict[str, Capture] = {
    "EXECUTION_ID": Capture(
        re.compile(r"^[A-Z_]+ +[\w-]+ ([0-9a-f]{32}) ", re.MULTILINE),
        "the execution the latest `gateway run` (or resume) printed",
    ),
    "APPROVAL_ID": Capture(
        re.compile(r"waiting for approval ([0-9a-f]{32})|^([0-9a-f]{32}) +pending ", re.MULTILINE),
        "the approval a waiting execution names, or the first `gateway approvals` shows",
    ),
    "sha256:...": Capture(
        re.compile(r"(sha256:[0-9a-f]{64})"),
        "the digest of the request that waits (a step-up binding or an approval)",
    ),
}


# What a reader types at the prompts of interactive lines (besides step-up codes).
TYPED = {
    # the first question answered, then an empty line stops (the session can be resumed)
    "gateway tree run network-connectivity --technician elena": "this_device\n\n",
}


@dataclass
class Walk:
    """The state a reader keeps while going down the README: values seen, variables set."""

    workdir: Path
    env: dict[str, str]
    seen: dict[str, str] = field(default_factory=dict)
    seeds: dict[str, str] = field(default_factory=dict)

    def fill(self, command: Command) -> str:
        """The command with every placeholder replaced by the value an earlier one printed."""
        text = command.text
        for name in PLACEHOLDERS:
            if name in text:
                if name not in self.seen:
                    raise AssertionError(f"{command}: nothing printed earlier gives {name}")
                text = text.replace(name, self.seen[name])
        unknown = [word for word in shlex.split(text) if PLACEHOLDER.fullmatch(word)]
        if unknown or "..." in text:
            raise AssertionError(f"{command}: placeholders not in PLACEHOLDERS: {unknown}")
        return text

    def remember(self, output: str) -> None:
        """Keep the placeholder values and enrolment seeds ``output`` shows."""
        for name, capture in PLACEHOLDERS.items():
            found = capture.pattern.search(output)
            if found is not None:
                self.seen[name] = next(group for group in found.groups() if group)
        for uri in PROVISIONING.findall(output):
            parsed = pyotp.parse_uri(uri)
            self.seeds[str(parsed.name)] = parsed.secret

    def answer(self, text: str) -> str | None:
        """What a reader types at the prompts of ``text``: ``TYPED``, or the current
        step-up code of the user, from the authenticator app enrolled earlier in the README."""
        if text in TYPED:
            return TYPED[text]
        words = shlex.split(text)
        if words[:3] != ["gateway", "stepup", "verify"] or "--code" in words:
            return None
        user = words[words.index("--user") + 1]
        if user not in self.seeds:
            raise AssertionError(f"{text}: {user} was not enrolled earlier in the README")
        return pyotp.TOTP(self.seeds[user]).now() + "\n"

    def run(self, text: str) -> subprocess.CompletedProcess[str]:
        """Run one filled command line in bash; ``NAME=$(...)`` keeps NAME for later lines."""
        assignment = ASSIGNMENT.match(text)
        script = text
        if assignment is not None:
            name = assignment.group(1)
            script = f'{text}\nstatus=$?\nprintf %s "${name}"\nexit $status'
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=self.workdir,
            env=self.env,
            input=self.answer(text) or "",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if assignment is not None and result.returncode == 0:
            self.env[assignment.group(1)] = result.stdout
        self.remember(result.stdout)
        return result
