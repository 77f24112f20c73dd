"""The embedded knowledge base: a folder of Markdown files with YAML front matter.

``<folder>/<id>.md`` is the current version of each article; each earlier version is kept
as ``<folder>/.history/<id>/v<N>.md``, so an update never loses what was there.  A file is
``---``, the front matter (``ArticleMeta`` as YAML, keys sorted), ``---``, then the Markdown
body.  Files are written (mode 0600) to a temporary name and renamed, so a reader never
sees half an article.  A file edited by hand is checked when read: every problem names the
file and the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import yaml
from pydantic import ValidationError

from gateway.errors import SourceProblem
from gateway.knowledge.article import ArticleMeta
from gateway.knowledge.errors import ArticleError, KnowledgeStoreError, UnknownArticleError
from gateway.yaml_source import BoundedSafeLoader

__all__ = ["ArticleFile", "ArticleFolder", "parse_article", "render_article_file"]

_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
_FENCE = "---\n"


class ArticleFile:
    """An article as stored: its front matter and its Markdown body."""

    __slots__ = ("body", "meta")

    def __init__(self, meta: ArticleMeta, body: str) -> None:
        self.meta = meta
        self.body = body


def render_article_file(meta: ArticleMeta, body: str) -> str:
    front = yaml.safe_dump(
        meta.model_dump(mode="json"), sort_keys=True, allow_unicode=True, width=100
    )
    return f"{_FENCE}{front}{_FENCE}\n{body}"


def _line_of(text: str, key: str) -> int:
    """The line (1-based, counting the opening fence) of a top-level front matter key."""
    for number, line in enumerate(text.splitlines(), start=2):
        if line.startswith(f"{key}:"):
            return number
    return 1


def parse_article(text: str, where: str) -> ArticleFile:
    """Read an article file's text; ``ArticleError`` names ``where`` and the line."""
    if not text.startswith(_FENCE):
        raise ArticleError(f"{where}:1: an article starts with a '---' front matter line")
    end = text.find("\n" + _FENCE, len(_FENCE) - 1)
    if end < 0:
        raise ArticleError(f"{where}:1: the front matter has no closing '---' line")
    front = text[len(_FENCE) : end + 1]
    try:
        data = yaml.load(front, Loader=BoundedSafeLoader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise ArticleError(f"{where}:{line}: front matter is not valid YAML") from exc
    if not isinstance(data, dict):
        raise ArticleError(f"{where}:2: front matter must be a mapping")
    try:
        meta = ArticleMeta.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            loc = ".".join(str(part) for part in error["loc"])
            top = str(error["loc"][0]) if error["loc"] else ""
            problems.append(SourceProblem(where, _line_of(front, top), f"{loc}: {error['msg']}"))
        raise ArticleError("; ".join(str(problem) for problem in problems)) from exc
    return ArticleFile(meta, text[end + 1 + len(_FENCE) :].lstrip("\n"))


class ArticleFolder:
    """Articles as Markdown files in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, article_id: str, version: int | None = None) -> Path:
        if not _ID.fullmatch(article_id):
            raise UnknownArticleError(article_id)
        if version is None:
            return self.folder / f"{article_id}.md"
        return self.folder / ".history" / article_id / f"v{version}.md"

    def _read(self, path: Path) -> str | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KnowledgeStoreError(f"{path}: cannot read: {exc.strerror}") from exc
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ArticleError(f"{path}: not UTF-8 text (byte {exc.start})") from exc

    def load(self, article_id: str, version: int | None = None) -> ArticleFile:
        """The current article, or an earlier ``version`` of it."""
        path = self._path(article_id, version)
        text = self._read(path)
        if text is None:
            current = self._read(self._path(article_id))
            if version is None or current is None:
                raise UnknownArticleError(article_id, version)
            found = parse_article(current, str(self._path(article_id)))
            if found.meta.version != version:
                raise UnknownArticleError(article_id, version)
            return found
        return parse_article(text, str(path))

    def exists(self, article_id: str) -> bool:
        return self._path(article_id).exists()

    def save(self, meta: ArticleMeta, body: str) -> Path:
        """Write ``meta`` as the current version; the one it replaces goes to history."""
        path = self._path(meta.id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            old = self._read(path)
            if old is not None:
                previous = parse_article(old, str(path)).meta.version
                if previous != meta.version:
                    history = self._path(meta.id, previous)
                    history.parent.mkdir(parents=True, exist_ok=True)
                    self._write(history, old)
            self._write(path, render_article_file(meta, body))
        except OSError as exc:
            raise KnowledgeStoreError(f"{path}: cannot write: {exc.strerror}") from exc
        return path

    @staticmethod
    def _write(path: Path, text: str) -> None:
        temporary = path.with_name(f".{path.name}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # a temporary file left by a crash keeps its mode
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)

    def ids(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(path.stem for path in self.folder.glob("*.md") if _ID.fullmatch(path.stem))

    def __iter__(self) -> Iterator[ArticleFile]:
        for article_id in self.ids():
            yield self.load(article_id)

    def versions(self, article_id: str) -> list[int]:
        current = self.load(article_id).meta.version
        history = self.folder / ".history" / article_id
        older = [int(p.stem[1:]) for p in history.glob("v*.md") if p.stem[1:].isdigit()]
        return sorted({*older, current})
