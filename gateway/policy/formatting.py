"""Cedar's own formatter (``cedarpy.format_policies``) over the bundle's ``.cedar`` files.

Formatting changes the bundle digest: a formatted bundle must be signed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cedarpy

from gateway.errors import PolicyBundleError, SourceProblem
from gateway.policy.bundle import bundle_files

__all__ = ["FormatResult", "format_bundle"]

LINE_WIDTH = 100


@dataclass(frozen=True, slots=True)
class FormatResult:
    """The ``.cedar`` files whose text differs from Cedar's formatting of it."""

    checked: tuple[str, ...]
    unformatted: tuple[str, ...]


def format_bundle(root: Path, *, write: bool) -> FormatResult:
    """Format every ``.cedar`` file of the bundle (rewriting it when ``write``); raise
    ``PolicyBundleError`` naming each file Cedar cannot parse, before writing anything."""
    files = [path for path in bundle_files(root) if path.suffix == ".cedar"]
    formatted: list[tuple[Path, str, str]] = []
    problems: list[SourceProblem] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            formatted.append((path, text, cedarpy.format_policies(text, LINE_WIDTH)))
        except ValueError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "cannot parse"
            problems.append(SourceProblem(str(path), 0, f"cannot format: {first}"))
    if problems:
        raise PolicyBundleError("policy bundle cannot be formatted", problems)
    changed = [(path, new) for path, old, new in formatted if new != old]
    if write:
        for path, new in changed:
            path.write_text(new, encoding="utf-8")
    return FormatResult(tuple(str(path) for path in files), tuple(str(path) for path, _ in changed))
