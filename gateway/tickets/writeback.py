"""What the gateway writes back to a ticket, and the check that no secret goes with it.

Write-backs use standard fields only: a ``comment`` the requester sees, a ``work_note``
for the support team, and ``resolve`` (state resolved with resolution notes).  Each text
is checked before it is queued: a value the audit redaction would drop (a bearer or SSWS
token, a JWT, an ``otpauth://`` URI, a private key) or a phrase that hands over a
credential (``password: ...``, ``temporary password is ...``) refuses the write-back.
The runtime never returns a secret, so this is the second lock on the door.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from gateway.audit.redaction import redact
from gateway.tickets.errors import WriteBackRefusedError

__all__ = ["DEFAULT_POLICY", "OutboxPolicy", "WriteBack", "WriteBackKind", "check_text"]

MAX_TEXT = 4000
_HANDS_OVER = re.compile(
    r"(?i)\b(?:password|passwort|passcode|pin|secret|token|api[ _-]?key|otp|code)\b"
    r"\s*(?:is|was|=|:|->)\s*[\"'`]?(?!\s)(?=[^\s\"'`]*[0-9!@#$%^&*_+=~?])[^\s\"'`]{4,}"
)


class WriteBackKind(StrEnum):
    COMMENT = "comment"  # seen by the requester (ServiceNow comments, a Jira comment)
    WORK_NOTE = "work_note"  # for the support team (work_notes, an internal Jira comment)
    RESOLVE = "resolve"  # resolved, with the text as resolution notes


@dataclass(frozen=True, slots=True)
class WriteBack:
    ticket: str  # the ref
    source: str
    ticket_id: str
    kind: WriteBackKind
    text: str


def check_text(text: str) -> str:
    """``text`` as it may be written, or ``WriteBackRefusedError`` if it looks like it
    carries a secret.  Over-long texts are cut, saying so."""
    _, dropped = redact({"text": text})
    if dropped or _HANDS_OVER.search(text):
        raise WriteBackRefusedError(
            "write-back refused: the text looks like it carries a secret; nothing was written"
        )
    if len(text) > MAX_TEXT:
        return text[: MAX_TEXT - 20] + " [text shortened]"
    return text


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    """How undelivered write-backs are retried: ``backoff_seconds * 2**attempts`` up to
    ``max_backoff_seconds``; after ``max_attempts`` the item is marked failed."""

    backoff_seconds: float = 5.0
    max_backoff_seconds: float = 900.0
    max_attempts: int = 20

    def next_try(self, now: datetime, attempts: int, retry_after: float | None) -> datetime:
        wait = min(self.max_backoff_seconds, self.backoff_seconds * 2.0 ** min(attempts, 30))
        if retry_after is not None:
            wait = min(self.max_backoff_seconds, max(wait, retry_after))
        return now + timedelta(seconds=wait)


DEFAULT_POLICY = OutboxPolicy()
