"""Privacy: personal data and secrets are taken out before anything leaves the gateway.

Always: secrets (``gateway.audit.redaction`` for values named or shaped like secrets, and
inline ``password: ...``, ``token=...``, bearer tokens, API keys, private keys in free
text).  By default: e-mail addresses (also spelt ``name (at) domain (dot) com``, with
``&#64;`` or ``%40``) and phone numbers (7 to 15 digits, with spaces, dots, dashes or
brackets; dates, times and IPv4 addresses are not phone numbers).  Optionally: people's
names (the people in the trail and the configured ``names``; ``Mr``/``Ms``/``Dr`` followed
by a name) and IP addresses (IPv4 and IPv6).  Text is NFKC-normalised first, so
full-width look-alikes of ``@`` and of digits are caught too.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace

from gateway.audit.redaction import REDACTED, redact
from gateway.knowledge.trail import Trail, TrailEvent

__all__ = ["REDACTED", "RedactionOptions", "Redactor"]

EMAIL = "[email]"
PHONE = "[phone]"
NAME = "[name]"
ADDRESS = "[ip address]"

_AT = r"(?:@|&#0*64;|&#x0*40;|&commat;|%40|\s*[\[({]\s*at\s*[\])}]\s*)"
_DOT = r"(?:\.|\s*[\[({]\s*dot\s*[\])}]\s*)"
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]"
# A match starts only where a local part starts (not inside one), so that a long word
# without an ``@`` is read once, not once from each of its characters (quadratic time).
_EMAIL = re.compile(
    rf"(?<!{_LOCAL})(?:mailto:)?{_LOCAL}+{_AT}[A-Za-z0-9-]+(?:{_DOT}[A-Za-z0-9-]+)+",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<![\w.:/-])(?:\+|00)?\(?\d[\d\s().-]{5,}\d(?![\w:/-]|\.\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}$")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?![\w:])")
_INLINE_SECRET = re.compile(
    r"(?P<key>\b(?:password|passwd|passphrase|pwd|pin|passcode|secret|token|api[ _-]?key"
    r"|access[ _-]?key|client[ _-]?secret|otp|totp|seed|recovery[ _-]?code|one[ -]time[ _-]?code"
    r"|verification[ _-]?code|auth[ _-]?code)\b[\"']?\s*(?P<verb>is|was|[:=])\s*)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|\S+)",
    re.IGNORECASE,
)
# After "is"/"was" these words say what happened to a secret, not what it is: "your
# password was reset" keeps its meaning; "password: reset" (a value) is still taken out.
_PROSE = frozenset(
    [
        "reset",
        "changed",
        "expired",
        "updated",
        "set",
        "wrong",
        "incorrect",
        "locked",
        "unlocked",
        "rejected",
        "accepted",
        "required",
        "sent",
        "emailed",
        "mailed",
        "texted",
        "not",
        "never",
        "still",
        "now",
        "correct",
        "valid",
        "invalid",
        "weak",
        "strong",
        "blank",
        "empty",
        "missing",
        "too",
        "the",
        "a",
        "an",
        "successfully",
        "already",
        "being",
        "just",
        "recently",
        "forgotten",
        "lost",
        "compromised",
        "stolen",
        "leaked",
        "shared",
        "rotated",
        "revoked",
        "generated",
        "issued",
        "regenerated",
        "enrolled",
        "verified",
        "used",
        "reused",
        "unchanged",
        "due",
        "about",
        "going",
        "also",
        "only",
        "then",
        "ready",
        "working",
        "fine",
        "ok",
        "okay",
        "given",
        "removed",
        "cleared",
        "disabled",
        "enabled",
        "entered",
        "typed",
        "mistyped",
        "saved",
        "stored",
        "synced",
        "synchronised",
        "synchronized",
    ]
)
_SECRET_SHAPES = re.compile(
    r"\b(?:bearer|basic|ssws)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|\bey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"
    r"|otpauth://\S+"
    r"|\bgwk_[A-Za-z0-9_-]{8,}"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\b(?:ghp|gho|ghs|xox[abpr])[_-][A-Za-z0-9-]{10,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
    re.IGNORECASE | re.DOTALL,
)
_MEMO = 100_000  # texts remembered; the memory is cleared when full
_HONORIFIC = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau)\.?\s+[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?"
)


@dataclass(frozen=True, slots=True)
class RedactionOptions:
    """What is taken out besides secrets (which always are)."""

    emails: bool = True
    phone_numbers: bool = True
    names: bool = False
    ip_addresses: bool = False
    known_names: tuple[str, ...] = ()  # names to take out when ``names`` is on


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(char.isdigit() for char in text)
    core = text.strip("() ")
    if not 7 <= digits <= 15 or _DATE.match(core) or _IPV4.fullmatch(core):
        return text
    return PHONE


def _inline_secret(match: re.Match[str]) -> str:
    verb = match.group("verb").lower()
    word = match.group("value").strip(".,;:!?)").lower()
    if verb in ("is", "was") and word in _PROSE:
        return match.group(0)
    return match.group("key") + REDACTED


def _address(match: re.Match[str]) -> str:
    text = match.group(0)
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text
    return ADDRESS


class Redactor:
    """Applies the options to text, to key/value pairs and to whole trails."""

    def __init__(
        self, options: RedactionOptions = RedactionOptions(), memo_size: int = _MEMO
    ) -> None:
        self.options = options
        self._memo_size = memo_size
        self._names = self._name_pattern(options.known_names)
        self._memo: dict[str, str] = {}  # trails repeat much of their text
        self._secret_names: dict[str, bool] = {}

    @staticmethod
    def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
        words = sorted(
            {unicodedata.normalize("NFKC", name).strip() for name in names if len(name) > 1},
            key=lambda name: (-len(name), name),
        )
        words = [word for word in words if word]
        if not words:
            return None
        return re.compile(
            r"(?<![\w@])(?:" + "|".join(re.escape(word) for word in words) + r")(?![\w@])",
            re.IGNORECASE,
        )

    def for_people(self, people: Iterable[str]) -> Redactor:
        """A redactor that also knows these people's names (when names are redacted)."""
        known = (*self.options.known_names, *people)
        return Redactor(replace(self.options, known_names=tuple(known)))

    def text(self, text: str) -> str:
        """``text`` with secrets and the chosen personal data replaced."""
        if not text:
            return text
        done = self._memo.get(text)
        if done is None:
            done = self._redact(text)
            if len(self._memo) >= self._memo_size:
                self._memo.clear()
            self._memo[text] = done
        return done

    def _redact(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        text = _SECRET_SHAPES.sub(REDACTED, text)
        text = _INLINE_SECRET.sub(_inline_secret, text)
        cleaned, _ = redact(text)  # anything else the audit log would not keep
        text = str(cleaned)
        if self.options.emails:
            text = _EMAIL.sub(EMAIL, text)
        if self.options.ip_addresses:
            text = _IPV4.sub(_address, text)
            text = _IPV6.sub(_address, text)
        if self.options.phone_numbers:
            text = _PHONE.sub(_phone, text)
        if self.options.names:
            text = _HONORIFIC.sub(NAME, text)
            if self._names is not None:
                text = self._names.sub(NAME, text)
        return text

    def pair(self, name: str, value: str) -> tuple[str, str]:
        """A named value: dropped whole when the name says it is a secret."""
        secret = self._secret_names.get(name)
        if secret is None:
            secret = self._secret_names[name] = bool(redact({name: ""})[1])
        if secret:
            return self.text(name), REDACTED
        return self.text(name), self.text(value)

    def texts(self, items: Iterable[str]) -> tuple[str, ...]:
        return tuple(self.text(item) for item in items)

    def event(self, event: TrailEvent) -> TrailEvent:
        return TrailEvent(
            kind=event.kind,
            state=event.state,
            at=event.at,
            duration_ms=event.duration_ms,
            source=event.source,
            name=self.text(event.name),
            detail=self.text(event.detail),
            actor=None if event.actor is None else self.text(event.actor),
            reasons=self.texts(event.reasons),
            obligations=self.texts(event.obligations),
            data=tuple(self.pair(name, value) for name, value in event.data),
        )

    def trail(self, trail: Trail) -> Trail:
        """The trail with everything in it redacted; ids of executions and sessions stay."""
        redactor = self.for_people(trail.people) if self.options.names else self
        return trail.with_changes(
            title=redactor.text(trail.title),
            problem=redactor.text(trail.problem),
            outcome_detail=redactor.text(trail.outcome_detail),
            people=redactor.texts(trail.people),
            symptoms=redactor.texts(trail.symptoms),
            events=tuple(redactor.event(event) for event in trail.events),
            follow_ups=redactor.texts(trail.follow_ups),
            missing=redactor.texts(trail.missing),
            fix=redactor.text(trail.fix),
        )
