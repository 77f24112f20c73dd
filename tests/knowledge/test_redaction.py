"""Redaction against hostile samples: obfuscated addresses, look-alike characters,
secrets inline and in values, and text that only looks like personal data."""

from __future__ import annotations

import pytest

from gateway.knowledge.redaction import RedactionOptions, Redactor
from gateway.knowledge.trail import EventKind, Trail, TrailEvent, TrailKind

EVERYTHING = Redactor(
    RedactionOptions(names=True, ip_addresses=True, known_names=("Tom Becker", "x"))
)
DEFAULT = Redactor()

HOSTILE = [
    ("plain address", "mail tom@example.com now", "mail [email] now"),
    ("mailto link", "<mailto:tom.b+vpn@mail.example.co.uk>", "<[email]>"),
    ("spelt out", "TOM (at) example (dot) com", "[email]"),
    ("bracketed", "tom[at]example[dot]org", "[email]"),
    ("html entity", "tom&#64;example.com", "[email]"),
    ("url encoded", "tom%40example.com", "[email]"),
    ("full-width at sign", "tom\uff20example.com", "[email]"),
    ("international phone", "call +49 (30) 1234-5678", "call [phone]"),
    ("dotted phone", "555.123.4567", "[phone]"),
    (
        "full-width digits",
        "\uff10\uff11\uff17\uff11 \uff12\uff13\uff14\uff15\uff16\uff17",
        "[phone]",
    ),
    ("inline password", "password: hunter2!", "password: [redacted]"),
    ("password sentence", "his new pwd is S3cr3t", "his new pwd is [redacted]"),
    ("quoted token", 'token="abc def"', "token=[redacted]"),
    ("api key", "api_key=sk_live_123", "api_key=[redacted]"),
    ("bearer", "Authorization: Bearer abcdefghijk123", "Authorization: [redacted]"),
    ("jwt", "eyJhbGciOiJI.eyJzdWIiOiIx.sig-here", "[redacted]"),
    ("gateway api key", "use gwk_0123456789abcdef", "use [redacted]"),
    ("aws key", "AKIAABCDEFGHIJKLMNOP", "[redacted]"),
    ("totp uri", "otpauth://totp/x?secret=JBSWY3DP", "[redacted]"),
    ("one-time code", "one-time code: 123456", "one-time code: [redacted]"),
    ("private key", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----", "[redacted]"),
]
NOT_PERSONAL = [
    ("an iso time", "at 2026-03-01T10:00:00.123456Z"),
    ("a date", "on 01.03.2026"),
    ("a short number", "error 809 after 1234 ms"),
    ("an execution id", "execution 9d2d7b861b954dbd863dd674b8e35a7b"),
    ("a version", "client 10.2.3"),
    ("a clock time", "17:05:01"),
    ("a ticket", "T-10042"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in HOSTILE], ids=[i for i, _, _ in HOSTILE]
)
def test_hostile_samples_are_redacted(text: str, expected: str) -> None:
    assert DEFAULT.text(text) == expected


@pytest.mark.parametrize("text", [t for _, t in NOT_PERSONAL], ids=[i for i, _ in NOT_PERSONAL])
def test_text_that_only_looks_personal_is_kept(text: str) -> None:
    assert EVERYTHING.text(text) == text


def test_names_and_addresses_only_when_asked() -> None:
    text = "Mr. Smith and Tom Becker on 10.0.0.12 and fe80::1%eth0, not 999.1.1.1"
    assert DEFAULT.text(text) == text
    assert EVERYTHING.text(text) == (
        "[name] and [name] on [ip address] and [ip address], not 999.1.1.1"
    )
    assert EVERYTHING.text("2001:db8::8a2e:370:7334 x") == "[ip address] x"  # one letter is no name
    assert Redactor(RedactionOptions(names=True)).text("Tom") == "Tom"


def test_emails_and_phone_numbers_may_be_kept() -> None:
    keep = Redactor(RedactionOptions(emails=False, phone_numbers=False))
    assert keep.text("tom@example.com +49 30 1234 5678 pin: 1234") == (
        "tom@example.com +49 30 1234 5678 pin: [redacted]"
    )


def test_a_value_named_like_a_secret_is_dropped_whole() -> None:
    assert DEFAULT.pair("temporary_password", "Xy12!") == ("temporary_password", "[redacted]")
    assert DEFAULT.pair("user", "tom@example.com") == ("user", "[email]")
    assert DEFAULT.text("") == ""


def test_a_whole_trail_is_redacted_and_the_people_in_it_named() -> None:
    event = TrailEvent(
        kind=EventKind.STEP,
        name="reset for tom",
        detail="sent to tom@example.com",
        actor="tom",
        reasons=("tom asked",),
        obligations=("step-up by tom",),
        data=(("seed", "JBSWY3DP"), ("user", "tom")),
    )
    trail = Trail(
        kind=TrailKind.EXECUTION,
        subject="e1",
        title="Reset (account:tom)",
        category="reset",
        problem="tom is locked out, call +1 555 123 4567",
        outcome_detail="tom ok",
        people=("tom",),
        symptoms=("tom cannot log in",),
        events=(event,),
        follow_ups=("tell tom",),
        missing=("tom's record",),
        fix="reset: tom",
    )

    redacted = Redactor(RedactionOptions(names=True)).trail(trail)

    texts = [redacted.title, redacted.outcome_detail, *redacted.people, *redacted.symptoms]
    texts += [*redacted.follow_ups, *redacted.missing, redacted.fix, redacted.events[0].name]
    texts += [*redacted.events[0].reasons, *redacted.events[0].obligations]
    assert not [text for text in texts if "tom" in text]
    assert redacted.events[0].actor == "[name]"
    assert redacted.subject == "e1"
    assert redacted.problem == "[name] is locked out, call [phone]"
    assert redacted.events[0].data == (("seed", "[redacted]"), ("user", "[name]"))
    assert DEFAULT.trail(trail).people == ("tom",)
    assert DEFAULT.event(TrailEvent(kind=EventKind.NOTE, name="n")).actor is None


def test_the_memory_of_redacted_texts_is_bounded() -> None:
    small = Redactor(memo_size=1)
    assert [small.text(t) for t in ("a@b.org", "c@d.org", "a@b.org")] == ["[email]"] * 3


@pytest.mark.parametrize("word", ["0" * 20_000, "a." * 10_000, "x" * 20_000])
def test_a_long_word_without_an_address_is_kept_and_an_address_after_it_is_not(
    word: str,
) -> None:
    text = f"{word} then write to tom.smith@example.com"

    assert DEFAULT.text(text) == f"{word} then write to [email]"
