"""When two resolutions are the same problem: a signature and a similarity threshold.

**Signature.**  The normalised category (the workflow or troubleshooting tree the
resolution went through) and the normalised name of the step that fixed it, e.g.
``archive-access/install``.  Only articles with the same signature can be the same
problem: resolving an account lock-out by unlocking and by resetting a password are two
articles, however alike their words.

**Similarity.**  Among articles with the same signature, the words of the symptoms,
title and keywords are compared as sets (Jaccard: shared words over all words).  At or
above the threshold (``[knowledge] similarity_threshold``, 0.5 by default) the new
resolution is the same problem and updates that article with a new version; below it,
it becomes a new article.  Words are lower-cased, NFKC-normalised, stripped of a
plural ``s``, and stop words, numbers, redaction markers and words under three letters
are dropped, so wording noise and personal data do not count.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

__all__ = ["DEFAULT_THRESHOLD", "keywords", "problem_signature", "similarity", "slug", "words"]

DEFAULT_THRESHOLD = 0.5
_WORD = re.compile(r"[^\W\d_][\w'-]*[^\W_]|[^\W\d_]{3,}")
_SLUG = re.compile(r"[^a-z0-9]+")
_STOP = frozenset(
    {
        "about",
        "after",
        "again",
        "also",
        "and",
        "any",
        "are",
        "asked",
        "been",
        "before",
        "being",
        "but",
        "can",
        "cannot",
        "could",
        "did",
        "does",
        "doing",
        "done",
        "for",
        "from",
        "had",
        "has",
        "have",
        "her",
        "his",
        "how",
        "into",
        "its",
        "just",
        "more",
        "most",
        "not",
        "now",
        "off",
        "once",
        "only",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "too",
        "under",
        "until",
        "very",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "user",
        "users",
        "please",
        "help",
        "issue",
        "problem",
        "request",
        "ticket",
        "someone",
        "get",
        "got",
        "it's",
        "isn't",
        "doesn't",
        "can't",
        "won't",
    }
)
_MARKERS = frozenset({"redacted", "email", "phone", "name", "address"})


def slug(text: str) -> str:
    return _SLUG.sub("-", unicodedata.normalize("NFKC", text).lower()).strip("-")


def problem_signature(category: str, fix: str) -> str:
    """``category/fixing-step``; the step name is what comes before the first colon."""
    step = fix.split(":", 1)[0]
    return f"{slug(category) or 'unknown'}/{slug(step) or 'none'}"


def words(texts: Iterable[str]) -> list[str]:
    """The meaningful words of ``texts``, in order, normalised."""
    found: list[str] = []
    for text in texts:
        for match in _WORD.finditer(unicodedata.normalize("NFKC", text).lower()):
            word = match.group(0).strip("'-")
            if word.endswith("s") and len(word) > 4 and not word.endswith("ss"):
                word = word[:-1]
            if len(word) >= 3 and word not in _STOP and word not in _MARKERS:
                found.append(word)
    return found


def keywords(texts: Iterable[str], limit: int = 12) -> list[str]:
    """The ``limit`` most frequent words, ties alphabetical."""
    counts = Counter(words(texts))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [word for word, _ in ranked[:limit]]


def similarity(first: Iterable[str], second: Iterable[str]) -> float:
    """Jaccard similarity of two word collections (0 when both are empty)."""
    a, b = set(first), set(second)
    union = a | b
    return len(a & b) / len(union) if union else 0.0
