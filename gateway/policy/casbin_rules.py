"""Read and check the Casbin half of a policy bundle: one model ``.conf``, rules in ``.csv``.

Rules are lines ``p, SUBJECT, OBJECT, ACTION`` (a permission) and ``g, MEMBER, ROLE`` (a
role assignment); blank lines and lines starting with ``#`` are ignored.  Every problem
names the file and line.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import casbin

from gateway.errors import SourceProblem

__all__ = ["CasbinRule", "CasbinRules", "load_casbin_model", "parse_casbin_rules"]

_REQUIRED_SECTIONS = ("r", "p", "e", "m")


@dataclass(frozen=True, slots=True)
class CasbinRule:
    """One rule line with where it came from."""

    ptype: str
    values: tuple[str, ...]
    file: str
    line: int

    def __str__(self) -> str:
        return ", ".join((self.ptype, *self.values))


@dataclass(frozen=True)
class CasbinRules:
    """A parsed, checked Casbin model and its rules."""

    model_text: str
    model: casbin.Model
    policies: tuple[CasbinRule, ...]
    groupings: tuple[CasbinRule, ...]


def load_casbin_model(path: Path, text: str) -> tuple[casbin.Model | None, list[SourceProblem]]:
    """Parse a model; on failure return the problems instead."""
    model = casbin.Model()
    try:
        model.load_model_from_text(text)
    except Exception as exc:  # pycasbin raises bare RuntimeError and others on bad syntax
        return None, [
            SourceProblem(str(path), _line_from_casbin(str(exc)), f"invalid model: {exc}")
        ]
    missing = [name for name in _REQUIRED_SECTIONS if name not in model.model]
    if missing:
        names = ", ".join(missing)
        return None, [SourceProblem(str(path), 0, f"invalid model: missing sections {names}")]
    return model, []


def _line_from_casbin(message: str) -> int:
    # pycasbin reports "parse the content error : line 3 , ..." for syntax errors.
    marker = "line "
    start = message.find(marker)
    if start < 0:
        return 0
    digits = ""
    for char in message[start + len(marker) :]:
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else 0


def _arity(model: casbin.Model, ptype: str) -> int | None:
    section = "p" if ptype.startswith("p") else "g"
    assertion = model.model.get(section, {}).get(ptype)
    if assertion is None:
        return None
    if section == "p":
        return len(assertion.tokens)
    return len([part for part in assertion.value.split(",") if part.strip()])


def parse_casbin_rules(
    model: casbin.Model, files: list[tuple[Path, str]]
) -> tuple[list[CasbinRule], list[CasbinRule], list[SourceProblem]]:
    """Parse rule files against ``model``: permissions, role assignments, problems."""
    policies: list[CasbinRule] = []
    groupings: list[CasbinRule] = []
    problems: list[SourceProblem] = []
    for path, text in files:
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            fields = [field.strip() for field in next(csv.reader([raw], skipinitialspace=True))]
            ptype, values = fields[0], tuple(fields[1:])
            arity = _arity(model, ptype)
            if arity is None:
                problems.append(SourceProblem(str(path), number, f"unknown rule type {ptype!r}"))
            elif len(values) != arity:
                problems.append(
                    SourceProblem(
                        str(path),
                        number,
                        f"rule {ptype!r} expects {arity} values, found {len(values)}",
                    )
                )
            elif any(not value for value in values):
                problems.append(SourceProblem(str(path), number, "empty value in rule"))
            else:
                rule = CasbinRule(ptype, values, str(path), number)
                (policies if ptype.startswith("p") else groupings).append(rule)
    return policies, groupings, problems
