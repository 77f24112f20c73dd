"""The knowledge base: one article per recurring resolution, versions, the folder format,
search documents, the full-text index and suggestions."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gateway.app import open_knowledge
from gateway.config import GatewayConfig
from gateway.knowledge.article import MAX_ARTICLE_STEPS, ArticleMeta, draft_article
from gateway.knowledge.base import KnowledgeBase
from gateway.knowledge.errors import (
    ArticleError,
    KnowledgeStoreError,
    PublishError,
    UnknownArticleError,
)
from gateway.knowledge.folder import ArticleFolder, parse_article
from gateway.knowledge.index import SearchIndex, fts_query
from gateway.knowledge.signature import keywords, problem_signature, similarity, words
from gateway.knowledge.trail import EventKind, Trail, TrailEvent, TrailKind
from tests.knowledge.conftest import knowledge_config


def _trail(
    subject: str,
    symptoms: tuple[str, ...],
    *,
    category: str = "vpn",
    fix: str = "reset-profile: profile rebuilt",
    title: str = "VPN disconnects",
) -> Trail:
    return Trail(
        kind=TrailKind.SESSION,
        subject=subject,
        title=title,
        category=category,
        problem=f"{subject}: the VPN drops, mail me at someone@example.com",
        outcome="resolved",
        started_at=f"2026-01-0{len(subject)}T00:00:00.000000Z",
        finished_at=f"2026-01-0{len(subject)}T01:00:00.000000Z",
        tickets=(f"T-{subject}",),
        sessions=(subject,),
        symptoms=symptoms,
        events=(
            TrailEvent(
                kind=EventKind.DIAGNOSTIC,
                name="ping",
                state="passed",
                detail="ok",
                data=(("target", "vpn.example.com"),),
            ),
            TrailEvent(kind=EventKind.QUESTION, name="Wired?", state="answered"),
            TrailEvent(
                kind=EventKind.STEP,
                name="reset-profile",
                state="succeeded",
                detail="profile rebuilt",
            ),
            TrailEvent(kind=EventKind.STEP, name="old-fix", state="failed", detail="refused"),
            TrailEvent(kind=EventKind.WAIT, name="approval", state="waited"),
            TrailEvent(kind=EventKind.STEP, name="notify", state="skipped"),
            TrailEvent(kind=EventKind.ESCALATION, name="network team", state="escalation"),
        ),
        fix=fix,
    )


VPN = ("vpn disconnects every hour", "vpn client shows error 809")


def test_a_recurring_resolution_updates_one_article(base: KnowledgeBase) -> None:
    first = base.record(_trail("a", VPN))
    second = base.record(_trail("bb", (*VPN, "vpn drops on wifi")))
    again = base.record(_trail("bb", VPN))

    assert (first.change, second.change, again.change) == ("created", "updated", "unchanged")
    assert second.article.id == first.article.id == "vpn-vpn-disconnects"
    assert second.article.version == again.article.version == 2
    assert second.similarity is not None
    assert second.similarity >= 0.5
    assert second.article.sessions == ["a", "bb"]
    assert second.article.occurrences == 2
    assert second.article.updated == "2026-01-02T01:00:00.000000Z"
    assert base.folder.versions(first.article.id) == [1, 2]
    assert base.get(first.article.id, 1).meta.sessions == ["a"]
    assert base.get(first.article.id, 2).meta.version == 2
    with pytest.raises(
        UnknownArticleError, match="unknown article 'vpn-vpn-disconnects' version 3"
    ):
        base.get(first.article.id, 3)
    text = second.path.read_text()
    assert "someone@example.com" not in text
    assert "[email]" in text


def test_another_fix_or_other_symptoms_make_another_article(base: KnowledgeBase) -> None:
    first = base.record(_trail("a", VPN))
    other_fix = base.record(_trail("bb", VPN, fix="reinstall: client reinstalled"))
    other_words = base.record(
        _trail("ccc", ("printer jams on tray two", "paper feed grinds"), title="Printer jams")
    )
    same_id = base.record(_trail("dddd", ("keyboard sticky",), title="VPN disconnects"))

    assert other_fix.change == other_words.change == same_id.change == "created"
    assert other_fix.article.signature == "vpn/reinstall"
    assert other_fix.article.id == "vpn-vpn-disconnects-2"
    assert same_id.article.id == "vpn-vpn-disconnects-3"
    assert base.folder.ids() == sorted(
        [first.article.id, other_fix.article.id, other_words.article.id, same_id.article.id]
    )


def test_search_and_suggest_find_the_article(base: KnowledgeBase) -> None:
    made = base.record(_trail("a", VPN)).article
    base.record(_trail("bb", ("printer jams",), title="Printer jams", category="print"))

    hits = base.search("error 809 disconnects")
    assert [hit.id for hit in hits] == [made.id]
    assert hits[0].score > 0
    assert hits[0].version == 1
    suggestions = base.suggest("My VPN keeps dropping with error 809, call me on +1 555 123 4567")
    assert suggestions[0].article == made.id
    assert base.search("!!! ??? ---") == []
    assert base.search("vpn", 0) == []
    assert base.search('"unbalanced NEAR( quote* OR') == []


def test_the_search_document_has_the_documented_shape(base: KnowledgeBase) -> None:
    made = base.record(_trail("a", VPN)).article
    document = base.search_document(made.id)
    assert sorted(document) == [
        "categories",
        "id",
        "keywords",
        "links",
        "resolution",
        "signature",
        "status",
        "steps",
        "summary",
        "symptoms",
        "title",
        "updated",
        "version",
    ]
    assert document["links"] == [{"rel": "ticket", "id": "T-a"}, {"rel": "session", "id": "a"}]
    assert document["steps"] == [
        "Check ping on vpn.example.com: passed. ok",
        "Ask: Wired? (answer: none)",
        "Run reset-profile: profile rebuilt",
        "Escalate: network team.",
    ]
    assert base.index.document(made.id) == document
    assert base.index.document("nope") is None


def test_the_index_is_rebuilt_from_the_folder(config: GatewayConfig) -> None:
    base = open_knowledge(config.knowledge)
    made = base.record(_trail("a", VPN)).article
    base.close()
    config.knowledge.index.unlink()
    reopened = open_knowledge(config.knowledge)
    try:
        assert reopened.index.count() == 1
        assert reopened.search("809")[0].id == made.id
        assert reopened.reindex() == 1
    finally:
        reopened.close()


def test_publishing_to_the_folder_marks_the_article(base: KnowledgeBase) -> None:
    made = base.record(_trail("a", VPN)).article
    copy = base.publish(made.id)
    assert copy.version == 1
    assert copy.url is not None
    assert copy.url.startswith("file://")
    stored = base.get(made.id).meta
    assert stored.status == "published"
    assert stored.version == 1
    assert base.folder.versions(made.id) == [1]
    with pytest.raises(PublishError, match="servicenow is not configured \\(configured: folder\\)"):
        base.publish(made.id, "servicenow")
    with pytest.raises(UnknownArticleError, match="unknown article 'nope'"):
        base.publish("nope")
    with pytest.raises(UnknownArticleError):
        base.get("../etc/passwd")


def test_huge_trails_make_bounded_articles() -> None:
    events = tuple(
        TrailEvent(kind=EventKind.STEP, name=f"s{i}", state="succeeded")
        for i in range(MAX_ARTICLE_STEPS + 10)
    )
    trail = Trail(kind=TrailKind.EXECUTION, subject="e", title="", category="", events=events)
    article = draft_article(trail)
    assert len(article.steps) == MAX_ARTICLE_STEPS + 1
    assert article.steps[-1] == "... and 10 more steps (see the records)"
    assert (article.id, article.title, article.symptoms) == ("article", "Untitled resolution", [])


# "Billion laughs": nine levels of ten aliases each would expand to 10**9 values.
BOMB = (
    "---\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 10)}]\n" for n in range(8)
    )
    + "---\n"
)
GOOD = "---\nid: a\ntitle: T\nversion: 1\nsignature: x/y\n---\n\n# body\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# no front matter", "a.md:1: an article starts with a '---' front matter line"),
        ("---\nid: a\n", "a.md:1: the front matter has no closing '---' line"),
        ("---\nid: [a\n---\n", "a.md:3: front matter is not valid YAML"),
        ("---\n- a\n---\n", "a.md:2: front matter must be a mapping"),
        (BOMB, "a.md:5: front matter is not valid YAML"),
        ("---\nid: a\ntitle: T\nversion: 0\nsignature: s\n---\n", "a.md:4: version: Input should"),
        ("---\nid: A!\ntitle: T\nversion: 1\nsignature: s\nextra: 1\n---\n", "a.md:2: id: String"),
        ("---\nid: a\nversion: 1\nsignature: s\n---\n", "a.md:1: title: Field required"),
    ],
    ids=[
        "no fence",
        "no closing fence",
        "bad yaml",
        "not a mapping",
        "an alias bomb",
        "bad field",
        "bad id",
        "no title",
    ],
)
def test_an_article_file_edited_badly_names_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ArticleError, match=message.replace("[", r"\[")):
        parse_article(text, "a.md")


def test_the_folder_refuses_unreadable_files(tmp_path: Path) -> None:
    folder = ArticleFolder(tmp_path / "kb")
    assert folder.ids() == []
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "a.md").write_bytes(GOOD.encode() + b"\xff")
    with pytest.raises(ArticleError, match="not UTF-8 text"):
        folder.load("a")
    (tmp_path / "kb" / "b.md").mkdir()
    with pytest.raises(KnowledgeStoreError, match="cannot read"):
        folder.load("b")
    blocked = ArticleFolder(tmp_path / "kb" / "a.md" / "sub")
    meta = parse_article(GOOD, "a.md").meta
    with pytest.raises(KnowledgeStoreError, match="cannot write"):
        blocked.save(meta, "")
    assert parse_article(GOOD, "a.md").body == "# body\n"


def test_a_saved_article_of_the_same_version_keeps_no_history(tmp_path: Path) -> None:
    folder = ArticleFolder(tmp_path)
    meta = parse_article(GOOD, "a.md").meta
    folder.save(meta, "one")
    folder.save(meta, "two")
    assert folder.versions("a") == [1]
    assert [found.body for found in folder] == ["two"]


def test_saved_articles_and_their_history_are_readable_by_their_owner_only(
    tmp_path: Path, loose_umask: None
) -> None:
    folder = ArticleFolder(tmp_path)
    meta = parse_article(GOOD, "a.md").meta
    leftover = tmp_path / ".a.md.tmp"  # left by a crash, with a mode too open
    leftover.write_text("half an article")
    folder.save(meta, "one")
    folder.save(meta.model_copy(update={"version": 2}), "two")

    modes = {
        str(path.relative_to(tmp_path)): stat.S_IMODE(path.stat().st_mode)
        for path in tmp_path.rglob("*")
        if path.is_file()
    }
    assert modes == {"a.md": 0o600, ".history/a/v1.md": 0o600}


def test_an_index_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeStoreError, match="cannot open knowledge index"):
        SearchIndex(tmp_path)


def test_signature_words_and_similarity() -> None:
    assert problem_signature("VPN Access", "Reset Profile: done") == "vpn-access/reset-profile"
    assert problem_signature("", "") == "unknown/none"
    assert words(["The printers' jams; it's 2026 glass [email] OK"]) == ["printer", "jams", "glass"]
    assert keywords(["b a b c a b"], limit=2) == []
    assert keywords(["vpn vpn drops drops drops hour"], limit=2) == ["drop", "vpn"]
    assert similarity([], []) == 0.0
    assert similarity(["a", "b"], ["b", "c"]) == pytest.approx(1 / 3)
    assert fts_query("Hello, WORLD hello") == '"hello" OR "world"'
    assert fts_query("...") is None


def test_the_similarity_threshold_is_configurable(config: GatewayConfig) -> None:
    strict = knowledge_config(config, similarity_threshold=1.0)
    base = open_knowledge(strict.knowledge)
    try:
        assert base.threshold == 1.0
        base.record(_trail("a", VPN))
        assert base.record(_trail("bb", (*VPN, "also on wifi"))).change == "created"
    finally:
        base.close()


def test_article_meta_match_words() -> None:
    meta = ArticleMeta(id="a", title="VPN drops", version=1, signature="s", symptoms=["error 809"])
    assert meta.match_words == {"vpn", "drop", "error"}
