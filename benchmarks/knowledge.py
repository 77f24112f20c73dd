"""Resolution documentation speed: summaries, storing and indexing, search.

Run with ``python -m benchmarks.knowledge`` (``--json`` prints the figures only).  Every
run uses a fresh temporary folder.  Trails are synthetic execution records with the
runtime's JSON shape: each step has parameters, an output, a decision with reasons in the
audit index, and some text with e-mail addresses and phone numbers to redact.

* **Summaries**: collect + redact + render the technician summary of an execution with
  100 steps (goal < 50 ms) and with 10,000 steps (goal < 2 s).
* **Stored and indexed**: ``KnowledgeBase.record`` of the 10,000-step trail just
  summarised, as documentation runs (draft the article, find the article for the same
  problem, write the Markdown file, index the search document; the summary's redaction is
  reused); goal < 100 ms.  Also shown: the same for a trail not summarised first, which
  includes redacting all 10,000 steps.
* **Search**: ``search`` over an index of 10,000 articles, over 200 queries of 1 to 4
  words; the median query time (goal < 20 ms).  Naive baseline: a scan of all 10,000
  search documents in memory, counting how many query words each holds.

Each figure is the median over R runs (default 3).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from gateway.app import open_knowledge
from gateway.audit.records import AuditRecord
from gateway.config import KnowledgeConfig
from gateway.knowledge.article import ArticleMeta, search_document
from gateway.knowledge.audit_trail import AuditIndex
from gateway.knowledge.base import KnowledgeBase
from gateway.knowledge.collect import collect_execution
from gateway.knowledge.summary import Audience

GOALS_MS = {"summary_100": 50.0, "summary_10000": 2000.0, "record": 100.0, "search": 20.0}
BASE_WORDS = [
    "vpn",
    "printer",
    "outlook",
    "mailbox",
    "password",
    "account",
    "locked",
    "archive",
    "laptop",
    "wifi",
    "driver",
    "certificate",
    "disk",
    "quota",
    "teams",
    "camera",
    "license",
    "install",
    "update",
    "network",
    "proxy",
    "token",
    "sharepoint",
    "onedrive",
    "excel",
    "crash",
    "slow",
    "login",
    "browser",
    "dock",
    "monitor",
    "keyboard",
]
# A vocabulary of realistic size: each word is in about one article in a hundred.
SUFFIXES = ("", *"abcdefghijklmnopqrstuvwxyz")
WORDS = [f"{word}{suffix}" for word in BASE_WORDS for suffix in SUFFIXES]


def execution(steps: int, seed: int) -> tuple[dict[str, Any], AuditIndex]:
    """A finished execution record with ``steps`` steps and its decisions."""
    rng = random.Random(seed)
    decisions = []
    records = []
    for index in range(steps):
        decision_id = f"d{seed}-{index}"
        decisions.append(
            AuditRecord(
                seq=index, time="2026-01-01T00:00:00.000000Z", prev="0" * 64, type="decision",
                actor="elena", action="software.install", resource="software:7zip",
                decision_id=decision_id, policy_digest=None,
                payload={"decision": "allow", "obligations": [],
                         "reasons": [{"message": "staff may install approved titles"}]},
                redacted=(), key_id="0" * 16, signature=b"", line=b"",
            )
        )  # fmt: skip
        second = f"{index % 60:02d}"
        records.append(
            {
                "step": f"step-{index}",
                "state": "succeeded",
                "decision_id": decision_id,
                "parameters": {"user": f"user{index}@example.com", "title": rng.choice(WORDS)},
                "output": {"changed": True, "note": "call +49 30 1234 5678"},
                "started_at": f"2026-01-01T00:00:{second}.000000Z",
                "finished_at": f"2026-01-01T00:00:{second}.500000Z",
            }
        )
    record = {
        "id": f"{seed:032x}", "workflow": "software-install", "actor": "elena",
        "state": "succeeded", "ticket": f"T-{seed}", "target": "device:x:7zip",
        "created_at": "2026-01-01T00:00:00.000000Z", "finished_at": "2026-01-01T01:00:00.000000Z",
        "parameters": {"title": "7zip"}, "steps": records,
    }  # fmt: skip
    return record, AuditIndex.of(decisions)


def _time_ms(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def summary_ms(base: KnowledgeBase, steps: int) -> float:
    record, audit = execution(steps, steps)
    return _time_ms(lambda: base.summarize(collect_execution(record, audit), Audience.TECHNICIAN))


def record_ms(base: KnowledgeBase) -> tuple[float, float]:
    """Storing and indexing a trail just summarised (as documentation does: its redaction
    is reused), and one never seen before (redacted first)."""
    record, audit = execution(10_000, 7)
    trail = collect_execution(record, audit)
    base.summarize(trail)
    after_summary = _time_ms(lambda: base.record(trail))
    other, other_audit = execution(10_000, 8)
    fresh = collect_execution(other, other_audit)
    return after_summary, _time_ms(lambda: base.record(fresh))


def fill(base: KnowledgeBase, count: int) -> list[dict[str, Any]]:
    """``count`` articles straight into the index (the folder is not needed to search)."""
    rng = random.Random(11)
    documents = []
    for index in range(count):
        title = " ".join(rng.sample(WORDS, 3))
        meta = ArticleMeta(
            id=f"a{index}", title=title, version=1, signature=f"c{index % 50}/fix",
            summary=" ".join(rng.sample(WORDS, 8)), symptoms=[" ".join(rng.sample(WORDS, 4))],
            keywords=rng.sample(WORDS, 5), steps=[f"Run {w}" for w in rng.sample(WORDS, 3)],
        )  # fmt: skip
        document = search_document(meta)
        base.index.put(document, meta.match_words)
        documents.append(document)
    return documents


def naive_search(documents: list[dict[str, Any]], query: str) -> list[str]:
    terms = query.lower().split()
    scored = []
    for document in documents:
        text = json.dumps(document).lower()
        score = sum(text.count(term) for term in terms)
        if score:
            scored.append((-score, document["id"]))
    return [article for _, article in sorted(scored)[:10]]


def search_ms(base: KnowledgeBase, documents: list[dict[str, Any]]) -> tuple[float, float]:
    rng = random.Random(5)
    queries = [" ".join(rng.sample(WORDS, rng.randint(1, 4))) for _ in range(200)]
    ours = [_time_ms(partial(base.search, q)) for q in queries]
    naive = [_time_ms(partial(naive_search, documents, q)) for q in queries[:20]]
    return statistics.median(ours), statistics.median(naive)


def one_run(articles: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        base = open_knowledge(
            KnowledgeConfig(articles=root / "articles", index=root / "knowledge.db")
        )
        try:
            summary_ms(base, 10)  # warm: templates compiled, regexes cached
            figures = {
                "summary_100": summary_ms(base, 100),
                "summary_10000": summary_ms(base, 10_000),
            }
            figures["record"], figures["record_cold"] = record_ms(base)
            documents = fill(base, articles)
            figures["search"], figures["search_naive"] = search_ms(base, documents)
        finally:
            base.close()
    return figures


def run(runs: int, articles: int) -> dict[str, Any]:
    results = [one_run(articles) for _ in range(runs)]
    medians = {name: statistics.median(r[name] for r in results) for name in results[0]}
    return {
        "python": platform.python_version(),
        "runs": runs,
        "articles": articles,
        "median_ms": {name: round(value, 3) for name, value in medians.items()},
        "goals_ms": GOALS_MS,
        "met": {name: medians[name] < goal for name, goal in GOALS_MS.items()},
        "search_speedup": round(medians["search_naive"] / medians["search"], 1),
    }


def render(report: dict[str, Any]) -> str:
    lines = [f"knowledge benchmark: median of {report['runs']} runs, Python {report['python']}"]
    labels = {
        "summary_100": "summary of 100 steps",
        "summary_10000": "summary of 10,000 steps",
        "record": "10,000-step trail stored and indexed",
        "search": f"search over {report['articles']:,} articles",
    }
    for name, label in labels.items():
        value, goal = report["median_ms"][name], report["goals_ms"][name]
        verdict = "met" if report["met"][name] else "MISSED"
        lines.append(f"  {label:<40} {value:10.2f} ms   goal < {goal:g} ms   {verdict}")
    lines.append(
        f"  {'the same, for a trail not summarised first':<40} "
        f"{report['median_ms']['record_cold']:10.2f} ms   (redaction included)"
    )
    lines.append(
        f"  naive search (scan of every document)    {report['median_ms']['search_naive']:10.2f} ms"
        f"   {report['search_speedup']}x slower than the index"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="runs to take the median of")
    parser.add_argument("--articles", type=int, default=10_000, help="articles in the index")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    report = run(args.runs, args.articles)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0 if all(report["met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
