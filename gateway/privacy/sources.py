"""Where personal data lives besides the audit log: each place a ``PersonalDataSource``
that can say what it holds about a person and take it out.

The knowledge base is one: articles are redacted as they are written, yet a name or an
e-mail address typed into free text can slip through; erasure replaces each of the
person's identifiers (login, display name and its parts, e-mail) with ``(erased)`` in every
version of
every article, then rebuilds the index.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gateway.erasure import ERASED_TEXT

__all__ = [
    "ERASED_TEXT",
    "Erasing",
    "KnowledgeArticles",
    "Person",
    "PersonalDataSource",
    "RecordsOf",
]


@dataclass(frozen=True, slots=True)
class Person:
    """Who a request is about: the directory login and what identifies them in text."""

    login: str
    identifiers: tuple[str, ...]  # the login, display name (and its parts), e-mail address

    def pattern(self) -> re.Pattern[str]:
        words = sorted({item for item in self.identifiers if len(item) >= 3}, key=len, reverse=True)
        alternatives = "|".join(re.escape(word) for word in words)
        return re.compile(rf"(?<![\w@.-])(?:{alternatives})(?![\w@-])", re.IGNORECASE)


class PersonalDataSource(Protocol):
    """One place holding personal data."""

    name: str

    def export(self, person: Person) -> list[dict[str, Any]]: ...

    def held(self, person: Person) -> int:
        """How many items ``erase`` would change now."""
        ...

    def erase(self, person: Person) -> int:
        """Take ``person``'s data out; the number of items changed."""
        ...


Erasing = Callable[[Person, bool], int]  # (person, dry_run) -> items changed (or would be)


@dataclass
class RecordsOf:
    """A store read through a function listing a person's items as JSON, and erased in
    place through ``erasing`` (the rows stay, their personal values become ``(erased)``);
    without it the items are exported only."""

    name: str
    listing: Callable[[Person], Iterable[dict[str, Any]]]
    erasing: Erasing | None = None

    def export(self, person: Person) -> list[dict[str, Any]]:
        return list(self.listing(person))

    def held(self, person: Person) -> int:
        return 0 if self.erasing is None else self.erasing(person, True)

    def erase(self, person: Person) -> int:
        return 0 if self.erasing is None else self.erasing(person, False)


@dataclass
class KnowledgeArticles:
    """The embedded knowledge base's Markdown files (every version)."""

    folder: Path
    reindex: Callable[[], object]
    name: str = "knowledge_base"

    def _files(self) -> Sequence[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(path for path in self.folder.rglob("*.md") if path.is_file())

    def export(self, person: Person) -> list[dict[str, Any]]:
        pattern = person.pattern()
        found = []
        for path in self._files():
            lines = [
                {"line": number, "text": text}
                for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if pattern.search(text)
            ]
            if lines:
                found.append({"file": str(path.relative_to(self.folder)), "lines": lines})
        return found

    def held(self, person: Person) -> int:
        pattern = person.pattern()
        return sum(1 for path in self._files() if pattern.search(path.read_text("utf-8")))

    def erase(self, person: Person) -> int:
        pattern = person.pattern()
        changed = 0
        for path in self._files():
            text = path.read_text(encoding="utf-8")
            cleaned = pattern.sub(ERASED_TEXT, text)
            if cleaned != text:
                _replace(path, cleaned)
                changed += 1
        if changed:
            self.reindex()
        return changed


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file (mode 0600) and rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.erasing")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
