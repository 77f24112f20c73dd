"""Redaction that reads well: words that are not personal data stay, and the person who
asked for help reads what was found and done in plain words."""

from __future__ import annotations

import pytest

from gateway.knowledge.collect import collect_session
from gateway.knowledge.redaction import RedactionOptions, Redactor
from gateway.knowledge.session import (
    SessionDiagnostic,
    SessionNode,
    SessionOutcome,
    SessionTrail,
)
from gateway.knowledge.summary import Audience, SummaryTemplates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Your password was reset.", "Your password was reset."),
        ("Your password was reset by the helpdesk at 09:12, please sign in again.",
         "Your password was reset by the helpdesk at 09:12, please sign in again."),
        ("The password is expired, so Outlook keeps prompting.",
         "The password is expired, so Outlook keeps prompting."),
        ("Her VPN token was revoked after the laptop was stolen.",
         "Her VPN token was revoked after the laptop was stolen."),
        ("Temporary password: Summer2024! (change it at first sign-in)",
         "Temporary password: [redacted] (change it at first sign-in)"),
        ("I reset it, the new password is Tr0ub4dor&3 for now",
         "I reset it, the new password is [redacted] for now"),
        ("password was hunter2 before the reset", "password was [redacted] before the reset"),
        ("Mail tom@example.com or call +44 20 7946 0958 when done",
         "Mail [email] or call [phone] when done"),
    ],
    ids=[
        "a reset stays", "a reset with details stays", "an expiry stays", "a revocation stays",
        "a typed password goes", "a password after 'is' goes", "a password after 'was' goes",
        "contact details go",
    ],
)  # fmt: skip
def test_redaction_keeps_the_words_that_are_not_secrets(text: str, expected: str) -> None:
    assert Redactor().text(text) == expected


def _session() -> SessionTrail:
    return SessionTrail(
        id="s-42",
        tree="wifi",
        title="Wi-Fi keeps dropping",
        technician="elena",
        ticket="INC0012345",
        symptoms=["Wi-Fi drops every few minutes in meeting room 3B"],
        path=[
            SessionNode(
                node="q1", kind="question", text="Does it happen on other laptops?", answer=False
            ),
            SessionNode(node="d1", kind="diagnostic", text="check the driver"),
            SessionNode(node="o1", kind="outcome", text="resolved"),
        ],
        diagnostics=[
            SessionDiagnostic(
                name="Wi-Fi driver version",
                target="LT-0042",
                result="failed",
                detail="driver 21.40 is known to drop connections",
            ),
            SessionDiagnostic(name="Signal strength", target="LT-0042", result="passed"),
        ],
        outcome=SessionOutcome(
            result="resolved",
            summary="The Wi-Fi driver was updated to 22.10 and the connection stayed up.",
            follow_ups=["Restart your laptop once more today."],
        ),
    )


def test_a_troubleshooting_summary_tells_the_user_what_was_found_and_done() -> None:
    trail = Redactor(RedactionOptions(names=True)).trail(collect_session(_session()))
    text = SummaryTemplates().summary(trail, Audience.USER)
    assert "You told us: Wi-Fi drops every few minutes in meeting room 3B." in text
    assert '- We asked "Does it happen on other laptops?" and you answered: no.' in text
    assert (
        "- Wi-Fi driver version was not working: driver 21.40 is known to drop connections."
    ) in text
    assert "- The Wi-Fi driver was updated to 22.10 and the connection stayed up." in text
    assert "- We checked: Signal strength." in text
    assert "Your issue is resolved." in text
    assert "- Restart your laptop once more today." in text
    assert "You asked IT support for help" not in text
    assert "Not everything worked the first time" not in text  # a finding, not a retry
    assert "elena" not in text


def test_a_session_with_nothing_recorded_still_reads_as_a_sentence() -> None:
    bare = SessionTrail(id="s-1", tree="printer", title="Printer offline", technician="elena")
    text = SummaryTemplates().summary(collect_session(bare), Audience.USER)
    assert "You asked IT support for help with: Printer offline." in text
    assert '- We went through the checks for "Printer offline" with you.' in text
    assert "We are still working on it." in text
