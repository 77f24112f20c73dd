"""Read and check the Cedar half of a policy bundle: one schema, policies in ``.cedar`` files.

Each policy is parsed on its own so that every problem names the file and the line where
the policy starts.  Every policy must carry a unique ``@id``; that id is how decisions,
explanations and policy tests refer to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cedarpy

from gateway.errors import SourceProblem
from gateway.policy.decision import Obligation
from gateway.policy.obligations import ObligationSyntaxError, parse_obligations

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*")

__all__ = ["CedarPolicy", "load_cedar_schema", "parse_cedar_file", "split_statements"]


@dataclass(frozen=True)
class CedarPolicy:
    """One checked Cedar policy."""

    id: str
    effect: str  # "permit" or "forbid"
    file: str
    line: int
    text: str
    est: Mapping[str, Any]
    actions: frozenset[str] | None  # None: may apply to any action
    obligations: tuple[Obligation, ...]
    message: str  # from @message, else @description, else the id

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"


def split_statements(text: str) -> list[tuple[int, str]]:
    """Split Cedar text at top-level ``;`` into (line of first token, statement) pairs.

    Strings and ``//`` comments are skipped over; text after the last ``;`` that holds
    anything but comments is returned as an unterminated statement.
    """
    statements: list[tuple[int, str]] = []
    start: int | None = None
    line = 1
    start_line = 1
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == "\n":
            line += 1
        elif text.startswith("//", index):
            end = text.find("\n", index)
            index = length if end < 0 else end
            continue
        elif not char.isspace() and start is None:
            start, start_line = index, line
        if char == '"':
            index += 1
            while index < length and text[index] != '"':
                if text[index] == "\\":
                    index += 1
                if text[index : index + 1] == "\n":
                    line += 1
                index += 1
        elif char == ";" and start is not None:
            statements.append((start_line, text[start : index + 1]))
            start = None
        index += 1
    if start is not None:
        statements.append((start_line, text[start:]))
    return statements


def load_cedar_schema(path: Path, text: str) -> tuple[cedarpy.Schema | None, list[SourceProblem]]:
    try:
        return cedarpy.Schema.from_str(text), []
    except ValueError as exc:
        return None, [SourceProblem(str(path), _schema_line(text, str(exc)), f"schema: {exc}")]


def _schema_line(text: str, message: str) -> int:
    """Best effort: the first line whose code uses a type a schema error cannot resolve."""
    _, marker, names = message.partition("failed to resolve type")
    if not marker:
        return 0
    wanted = {name.strip(" `'\"") for name in names.removeprefix("s").lstrip(":").split(",")}
    for number, line in enumerate(text.splitlines(), start=1):
        if wanted & set(_IDENTIFIER.findall(line.split("//", 1)[0])):
            return number
    return 0


def _action_scope(est: Mapping[str, Any]) -> frozenset[str] | None:
    scope = est.get("action", {})
    if scope.get("op") == "==":
        return frozenset({scope["entity"]["id"]})
    return None  # "All", "in" (action groups) and anything newer: consider everywhere


def _check_one(path: Path, line: int, text: str) -> tuple[CedarPolicy | None, str | None]:
    try:
        document = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as exc:
        return None, f"policy does not parse: {exc}"
    if document.get("templates"):
        return None, "policy templates (?principal, ?resource) are not supported"
    (est,) = document["staticPolicies"].values()
    # A bare annotation (@approval) has no value; Cedar reads it as "".
    annotations = {key: value or "" for key, value in est.get("annotations", {}).items()}
    policy_id = annotations.get("id", "")
    if not policy_id:
        return None, 'policy has no @id("...") annotation'
    effect = est["effect"]
    try:
        obligations = parse_obligations(policy_id, annotations)
    except ObligationSyntaxError as exc:
        return None, f"policy {policy_id}: {exc}"
    if obligations and effect != "permit":
        return None, f"policy {policy_id}: obligations belong on permit policies, not {effect}"
    message = annotations.get("message") or annotations.get("description") or policy_id
    policy = CedarPolicy(
        id=policy_id,
        effect=effect,
        file=str(path),
        line=line,
        text=text,
        est=est,
        actions=_action_scope(est),
        obligations=obligations,
        message=message,
    )
    return policy, None


def parse_cedar_file(
    path: Path, text: str, schema: cedarpy.Schema | None
) -> tuple[list[CedarPolicy], list[SourceProblem]]:
    """Parse and check every policy of one file (against ``schema`` when it loaded)."""
    policies: list[CedarPolicy] = []
    problems: list[SourceProblem] = []
    for line, statement in split_statements(text):
        policy, problem = _check_one(path, line, statement)
        if policy is None:
            problems.append(SourceProblem(str(path), line, str(problem)))
            continue
        policies.append(policy)
        if schema is not None:
            result = cedarpy.validate_policies(statement, schema)
            problems.extend(
                SourceProblem(
                    str(path),
                    line,
                    f"policy {policy.id}: {error.error.replace('`policy0`', f'`{policy.id}`')}",
                )
                for error in result.errors
            )
    return policies, problems
