"""The embedded full-text index: SQLite FTS5 over the articles' search documents.

``documents`` keeps each article's current search document (JSON), its problem signature
and its match words (for finding the article a new resolution belongs to);
``search`` is the FTS5 table (Porter stemming, Unicode words) over title, summary,
symptoms, keywords, categories and steps.  A query is never passed to FTS5 as syntax:
its words are quoted one by one and joined with ``OR``, ranked by BM25 with the title,
symptoms and keywords weighing most.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.embedded_db import EmbeddedDatabase
from gateway.knowledge.errors import KnowledgeStoreError

__all__ = ["IndexedArticle", "SearchHit", "SearchIndex", "fts_query"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    signature TEXT NOT NULL,
    title TEXT NOT NULL,
    words TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_signature ON documents (signature);
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(
    id UNINDEXED, title, summary, symptoms, keywords, categories, steps,
    tokenize = 'porter unicode61'
);
"""
_VERSION = 1
_TERM = re.compile(r"\w+")
_MAX_TERMS = 32


# The best rows first, ranked by BM25 with title, symptoms and keywords weighing most
# (weights in column order: id, title, summary, symptoms, keywords, categories, steps).
_SEARCH = """
SELECT s.id, d.version, d.title, s.rank, s.snippet FROM (
    SELECT id, rank, snippet(search, 2, '', '', ' … ', 16) AS snippet FROM search
    WHERE search MATCH ? AND rank MATCH 'bm25(0.0, 8.0, 2.0, 4.0, 4.0, 1.0, 1.0)'
    ORDER BY rank LIMIT ?
) AS s JOIN documents AS d ON d.id = s.id ORDER BY s.rank, s.id
"""


def fts_query(text: str) -> str | None:
    """``text`` as a safe FTS5 query (each word quoted, joined with OR); None if no word."""
    terms = sorted({term.lower() for term in _TERM.findall(text)})[:_MAX_TERMS]
    if not terms:
        return None
    return " OR ".join(f'"{term}"' for term in terms)


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: str
    title: str
    version: int
    score: float  # higher is better
    snippet: str


@dataclass(frozen=True, slots=True)
class IndexedArticle:
    id: str
    version: int
    words: frozenset[str]


def _joined(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    return "\n".join(value) if isinstance(value, list) else str(value or "")


class SearchIndex:
    """The search index file; one writer at a time, any number of readers."""

    def __init__(self, path: Path) -> None:
        self.db = EmbeddedDatabase(
            path,
            schema=_SCHEMA,
            version=_VERSION,
            what="knowledge index",
            error=KnowledgeStoreError,
        )

    def put(self, document: dict[str, Any], words: set[str]) -> None:
        """Index (or re-index) one article's search document."""
        article_id = str(document["id"])
        row = (
            article_id,
            int(document["version"]),
            str(document["signature"]),
            str(document["title"]),
            json.dumps(sorted(words)),
            json.dumps(document, sort_keys=True, ensure_ascii=False),
        )
        with self.db.transaction() as db:
            db.execute("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?)", row)
            db.execute("DELETE FROM search WHERE id = ?", (article_id,))
            db.execute(
                "INSERT INTO search VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    article_id,
                    _joined(document, "title"),
                    _joined(document, "summary"),
                    _joined(document, "symptoms"),
                    _joined(document, "keywords"),
                    _joined(document, "categories"),
                    _joined(document, "steps"),
                ),
            )

    def clear(self) -> None:
        with self.db.transaction() as db:
            db.execute("DELETE FROM documents")
            db.execute("DELETE FROM search")

    def with_signature(self, signature: str) -> list[IndexedArticle]:
        """The indexed articles with this problem signature, by id."""
        with self.db.transaction(write=False) as db:
            rows = db.execute(
                "SELECT id, version, words FROM documents WHERE signature = ? ORDER BY id",
                (signature,),
            ).fetchall()
        return [IndexedArticle(row[0], row[1], frozenset(json.loads(row[2]))) for row in rows]

    def document(self, article_id: str) -> dict[str, Any] | None:
        with self.db.transaction(write=False) as db:
            row = db.execute(
                "SELECT document FROM documents WHERE id = ?", (article_id,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def count(self) -> int:
        with self.db.transaction(write=False) as db:
            (count,) = db.execute("SELECT count(*) FROM documents").fetchone()
        return int(count)

    def search(self, text: str, limit: int = 10) -> list[SearchHit]:
        """The best ``limit`` articles for ``text``, best first (ties by id)."""
        query = fts_query(text)
        if query is None or limit < 1:
            return []
        with self.db.transaction(write=False) as db:
            rows = db.execute(_SEARCH, (query, limit)).fetchall()
        return [
            SearchHit(
                id=row[0], title=row[2], version=row[1], score=round(-row[3], 6), snippet=row[4]
            )
            for row in rows
        ]

    def close(self) -> None:
        self.db.close()
