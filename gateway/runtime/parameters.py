"""Typed parameters of workflows (and of anything that starts one), checked before any work.

A definition declares each parameter's type and constraints; ``ParameterSet.validate``
turns what a caller sent (JSON values, or strings from the command line) into checked
values, or raises ``ParameterError`` naming every parameter that is wrong, why, and what
is allowed.  Secret parameters are kept apart so they never reach a decision context, an
audit record or a stored execution.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from gateway.runtime.errors import ParameterError

__all__ = ["ParameterSet", "ParameterSpec", "Values"]

Values = dict[str, Any]
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})
_MAX_TEXT = 4096


class ParameterSpec(BaseModel):
    """One parameter as a definition declares it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["string", "integer", "boolean"] = "string"
    description: str = ""
    required: bool | None = None  # default: required unless it has a default
    default: str | int | bool | None = None
    enum: list[str | int] | None = None
    pattern: str | None = None
    min_length: int = Field(default=0, ge=0)
    max_length: int = Field(default=256, ge=1, le=_MAX_TEXT)
    minimum: int | None = None
    maximum: int | None = None
    secret: bool = False

    @model_validator(mode="after")
    def _check(self) -> ParameterSpec:
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern does not compile: {exc}") from exc
        if self.type != "string" and (self.pattern is not None or self.secret):
            raise ValueError("pattern and secret apply to string parameters only")
        if self.type != "integer" and (self.minimum is not None or self.maximum is not None):
            raise ValueError("minimum and maximum apply to integer parameters only")
        if self.default is not None:
            problem = _check_value(self, self.default)
            if problem is not None:
                raise ValueError(f"default: {problem}")
        return self

    @property
    def is_required(self) -> bool:
        return self.default is None if self.required is None else self.required

    def allowed(self) -> str:
        """What the parameter accepts, in words, for error messages and help."""
        parts: list[str] = [self.type]
        if self.enum is not None:
            parts.append("one of " + ", ".join(str(v) for v in self.enum))
        if self.pattern is not None:
            parts.append(f"matching {self.pattern}")
        if self.minimum is not None:
            parts.append(f">= {self.minimum}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum}")
        return ", ".join(parts)


def _coerce(spec: ParameterSpec, raw: object) -> object:
    """Strings from a command line become the declared type; JSON values stay as sent."""
    if not isinstance(raw, str) or spec.type == "string":
        return raw
    text = raw.strip().lower()
    if spec.type == "boolean":
        return True if text in _TRUE else False if text in _FALSE else raw
    try:
        return int(text, 10)
    except ValueError:
        return raw


def _check_value(spec: ParameterSpec, value: object) -> str | None:
    """What is wrong with ``value`` (already coerced), or None; never echoes a secret."""
    shown = "the value given" if spec.secret else repr(value)[:60]
    if spec.type == "boolean":
        return None if isinstance(value, bool) else f"expected true or false, found {shown}"
    if spec.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer, found {shown}"
        if spec.minimum is not None and value < spec.minimum:
            return f"must be at least {spec.minimum}, found {value}"
        if spec.maximum is not None and value > spec.maximum:
            return f"must be at most {spec.maximum}, found {value}"
    else:
        if not isinstance(value, str):
            return f"expected text, found {shown}"
        if not spec.min_length <= len(value) <= spec.max_length:
            return f"must be {spec.min_length} to {spec.max_length} characters, found {len(value)}"
        if not value.isprintable():
            return "must not contain control characters"
        if spec.pattern is not None and re.fullmatch(spec.pattern, value) is None:
            return f"must match {spec.pattern}" + ("" if spec.secret else f", found {shown}")
    if spec.enum is not None and value not in spec.enum:
        return f"must be one of {', '.join(str(v) for v in spec.enum)}, found {shown}"
    return None


class ParameterSet:
    """The parameters of one definition (``subject`` names it in errors)."""

    def __init__(self, subject: str, specs: Mapping[str, ParameterSpec]) -> None:
        self.subject = subject
        self.specs = dict(specs)

    @property
    def secret_names(self) -> frozenset[str]:
        return frozenset(name for name, spec in self.specs.items() if spec.secret)

    def validate(self, given: Mapping[str, object]) -> tuple[Values, dict[str, SecretStr]]:
        """The checked plain values and, apart, the secret ones; ``ParameterError`` lists
        every problem at once."""
        problems: dict[str, str] = {}
        for name in given:
            if name not in self.specs:
                known = ", ".join(sorted(self.specs)) or "none"
                problems[str(name)[:64]] = f"not a parameter of {self.subject} (known: {known})"
        plain: Values = {}
        secrets: dict[str, SecretStr] = {}
        for name, spec in self.specs.items():
            if given.get(name) is None:  # null is as good as absent
                if spec.default is not None:
                    plain[name] = spec.default
                elif spec.is_required:
                    problems[name] = f"required ({spec.allowed()})"
                continue
            raw = given[name]
            if isinstance(raw, SecretStr):
                raw = raw.get_secret_value()
            value = _coerce(spec, raw)
            problem = _check_value(spec, value)
            if problem is not None:
                problems[name] = problem
            elif spec.secret:
                secrets[name] = SecretStr(str(value))
            else:
                plain[name] = value
        if problems:
            raise ParameterError(self.subject, problems)
        return plain, secrets
