"""Summaries: deterministic Markdown for two audiences, safe against injection, with
templates a team can override."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.knowledge.errors import TemplateError
from gateway.knowledge.markdown import Escaped, escape_markdown, escape_paragraphs
from gateway.knowledge.summary import Audience, SummaryTemplates, duration
from gateway.knowledge.trail import EventKind, Trail, TrailEvent, TrailKind

INJECTION = (
    "<script>alert(1)</script> [click](javascript:alert(1)) ![x](http://evil/x.png)\n"
    "# Heading\n- list\n1. ordered\n---\n> quote\n| a | b |\n`code` *bold* _it_ ~~s~~ $x$"
)


def _trail(**changes: object) -> Trail:
    values: dict[str, object] = {
        "kind": TrailKind.SESSION,
        "subject": "s1",
        "title": "VPN <drops>",
        "category": "vpn",
        "problem": INJECTION,
        "outcome": "resolved",
        "outcome_detail": "fixed",
        "started_at": "2026-01-01T00:00:00.000000Z",
        "finished_at": "2026-01-01T00:01:00.000000Z",
        "people": ("elena",),
        "tickets": ("T-1",),
        "executions": ("e1",),
        "sessions": ("s1",),
        "symptoms": ("drops every hour",),
        "follow_ups": ("replace cable",),
        "events": (
            TrailEvent(
                kind=EventKind.DIAGNOSTIC,
                name="ping",
                state="passed",
                duration_ms=45,
                detail="ok",
                data=(("target", "vpn.example.com"),),
            ),
            TrailEvent(
                kind=EventKind.STEP,
                name="reset",
                state="failed",
                detail=INJECTION,
                duration_ms=125_000,
                reasons=("r1",),
                obligations=("step-up (totp)",),
                at="2026-01-01T00:00:10.000000Z",
                actor="elena",
            ),
            TrailEvent(kind=EventKind.ESCALATION, name="network team", state="escalation"),
            TrailEvent(kind=EventKind.STEP, name="unlock", state="succeeded", duration_ms=1500),
            TrailEvent(kind=EventKind.STEP, name="notify", state="skipped"),
        ),
        "fix": "unlock",
    }
    values.update(changes)
    return Trail(**values)  # type: ignore[arg-type]


def test_the_same_trail_gives_byte_identical_summaries() -> None:
    for audience in Audience:
        first = SummaryTemplates().summary(_trail(), audience)
        assert first == SummaryTemplates().summary(_trail(), audience)
        assert first.endswith("\n")
        assert not first.endswith("\n\n")


def test_injected_markdown_and_html_stay_inert() -> None:
    text = SummaryTemplates().summary(_trail())
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert "](javascript" not in text
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\)" in text
    assert "\n# Heading" not in text
    assert "\\# Heading" in text
    assert "\n---\n" not in text
    assert "# VPN &lt;drops&gt;\n" in text


def test_the_technician_sees_every_step_with_reasons_and_timings() -> None:
    text = SummaryTemplates().summary(_trail())
    assert "1. **diagnostic ping**: passed in 45 ms" in text
    assert "**step reset**: failed in 2.1 min at 2026-01-01T00:00:10.000000Z by elena" in text
    assert "   - reason: r1\n   - required: step-up \\(totp\\)\n" in text
    assert "**step unlock**: succeeded in 1.5 s" in text
    assert "Resolved by unlock." in text
    assert "## Missing from the record" not in text


def test_the_user_reads_plain_language() -> None:
    text = SummaryTemplates().summary(_trail(), Audience.USER)
    assert "- We checked: ping.\n" in text
    assert "- We asked a specialist team for help.\n" in text
    assert "- unlock.\n" in text
    assert "notify" not in text
    assert "Not everything worked the first time" in text
    assert "Your issue is resolved." in text
    assert "- replace cable" in text


@pytest.mark.parametrize(
    ("outcome", "technician", "user"),
    [
        ("escalated", "Escalated: fixed", "handed to a specialist team"),
        ("waiting", "Waiting: fixed.", "We are still working on it."),
        ("failed", "Failed: fixed.", "We could not fix this automatically."),
    ],
)
def test_each_outcome_is_told(outcome: str, technician: str, user: str) -> None:
    trail = _trail(outcome=outcome)
    assert technician in SummaryTemplates().summary(trail)
    assert user in SummaryTemplates().summary(trail, Audience.USER)


def test_a_partial_trail_says_what_is_missing() -> None:
    trail = Trail(
        kind=TrailKind.EXECUTION,
        subject="e",
        title="T",
        category="c",
        missing=("execution e: steps",),
    )
    technician = SummaryTemplates().summary(trail)
    assert "No problem description was recorded." in technician
    assert "No steps were recorded." in technician
    assert "## Missing from the record" in technician
    assert "- execution e: steps" in technician
    assert "- None recorded." in technician
    user = SummaryTemplates().summary(trail, Audience.USER)
    assert "Some details of this request were not available" in user
    assert "You asked IT support for help." in user
    assert "- We looked into your request." in user


def test_a_team_overrides_one_template(tmp_path: Path) -> None:
    (tmp_path / "summary-user.md.j2").write_text("Hi! {{ trail.title }} {{ trail.problem }}\n")
    templates = SummaryTemplates(tmp_path)
    text = templates.summary(_trail(), Audience.USER)
    assert text.startswith("Hi! VPN &lt;drops&gt; &lt;script&gt;")
    assert templates.summary(_trail()).startswith("# VPN")  # the others stay shipped


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ trail.nosuch }}", "template summary-user.md.j2 does not render: "),
        ("{% if %}", "summary-user.md.j2:1: "),
        ("{{ trail.__class__.__mro__ }}", "does not render"),
        ("{{ 1 / 0 }}", "does not render: division by zero"),
    ],
    ids=["an undefined name", "bad syntax", "a sandbox escape", "a runtime error"],
)
def test_a_broken_override_is_a_clear_error(tmp_path: Path, source: str, message: str) -> None:
    (tmp_path / "summary-user.md.j2").write_text(source)
    with pytest.raises(TemplateError, match=message.replace("(", r"\(")):
        SummaryTemplates(tmp_path).summary(_trail(), Audience.USER)


def test_a_missing_folder_or_template_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="the templates folder does not exist"):
        SummaryTemplates(tmp_path / "nope")
    with pytest.raises(TemplateError, match=r"template nope\.md\.j2 not found"):
        SummaryTemplates().render("nope.md.j2", {})


def test_escaping_helpers() -> None:
    assert escape_markdown(None) == ""
    assert escape_paragraphs(None) == ""
    done = Escaped("*x*")
    assert escape_markdown(done) is done
    assert escape_paragraphs(done) is done
    assert escape_paragraphs("a\nb\n\n\n- c") == "a  \nb\n\n\\- c"
    assert duration(None) == ""
    assert duration(True) == ""
    assert duration(999) == "999 ms"
