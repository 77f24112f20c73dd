"""Narrative summaries: a trail rendered to Markdown by Jinja2 templates.

Two audiences: ``technician`` (every step, decision, reason, timing and what is missing)
and ``user`` (plain language: what was wrong, what was done, what happens next).  The
shipped templates live in ``gateway/knowledge/templates``; a team overrides any of them
by putting a file of the same name in the folder ``[knowledge] templates`` names.

Templates run in Jinja2's sandbox with ``StrictUndefined`` (a misspelt name is an error,
not an empty string).  Autoescaping is off because the output is Markdown, not HTML;
instead every interpolated value is escaped for Markdown and HTML by ``finalize``, so a
template cannot forget to.  ``md`` (one line) and ``paragraphs`` are the explicit
filters; ``duration`` formats milliseconds.  Rendering is deterministic: templates see
only the trail (no clock), and everything in it is already in a fixed order.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
)
from jinja2 import (
    TemplateError as JinjaTemplateError,
)
from jinja2.sandbox import SandboxedEnvironment

from gateway.knowledge.errors import TemplateError
from gateway.knowledge.markdown import Escaped, escape_markdown, escape_paragraphs
from gateway.knowledge.trail import Trail, TrailEvent

__all__ = ["SHIPPED_TEMPLATES", "Audience", "SummaryTemplates", "trail_view"]

SHIPPED_TEMPLATES = Path(__file__).parent / "templates"


class Audience(StrEnum):
    TECHNICIAN = "technician"
    USER = "user"


def duration(milliseconds: object) -> Escaped:
    """``1234`` as ``1.2 s``, ``45`` as ``45 ms``; nothing for no value."""
    if not isinstance(milliseconds, int) or isinstance(milliseconds, bool):
        return Escaped("")
    if milliseconds < 1000:
        return Escaped(f"{milliseconds} ms")
    if milliseconds < 120_000:
        return Escaped(f"{milliseconds / 1000:.1f} s")
    return Escaped(f"{milliseconds / 60_000:.1f} min")


def _event_view(event: TrailEvent) -> dict[str, Any]:
    return {
        "kind": str(event.kind),
        "name": event.name,
        "state": event.state,
        "failed": event.failed,
        "detail": event.detail,
        "at": event.at or "",
        "duration_ms": event.duration_ms,
        "actor": event.actor or "",
        "source": event.source,
        "reasons": list(event.reasons),
        "obligations": list(event.obligations),
        "data": [list(pair) for pair in event.data],
    }


def trail_view(trail: Trail) -> dict[str, Any]:
    """What templates see as ``trail``: plain data, documented in docs/knowledge.md."""
    events = [_event_view(event) for event in trail.events]
    return {
        "kind": str(trail.kind),
        "subject": trail.subject,
        "title": trail.title,
        "category": trail.category,
        "problem": trail.problem,
        "outcome": trail.outcome,
        "outcome_detail": trail.outcome_detail,
        "started_at": trail.started_at or "",
        "finished_at": trail.finished_at or "",
        "people": list(trail.people),
        "tickets": list(trail.tickets),
        "executions": list(trail.executions),
        "sessions": list(trail.sessions),
        "symptoms": list(trail.symptoms),
        "events": events,
        "failures": [event for event in events if event["failed"]],
        "follow_ups": list(trail.follow_ups),
        "missing": list(trail.missing),
        "complete": trail.complete,
        "fix": trail.fix,
    }


class SummaryTemplates:
    """The templates in force: the override folder first, then the shipped ones."""

    def __init__(self, override: Path | None = None) -> None:
        if override is not None and not override.is_dir():
            raise TemplateError(f"{override}: the templates folder does not exist")
        folders = [str(override)] if override is not None else []
        self.environment = SandboxedEnvironment(
            loader=ChoiceLoader(
                [FileSystemLoader(folder) for folder in [*folders, str(SHIPPED_TEMPLATES)]]
            ),
            autoescape=False,
            undefined=StrictUndefined,
            finalize=escape_markdown,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.environment.filters["md"] = escape_markdown
        self.environment.filters["paragraphs"] = escape_paragraphs
        self.environment.filters["duration"] = duration
        self._cache: dict[str, Template] = {}

    def template(self, name: str) -> Template:
        if name not in self._cache:
            try:
                self._cache[name] = self.environment.get_template(name)
            except TemplateNotFound as exc:
                raise TemplateError(f"template {name} not found") from exc
            except TemplateSyntaxError as exc:
                raise TemplateError(
                    f"template {exc.filename or name}:{exc.lineno}: {exc.message}"
                ) from exc
        return self._cache[name]

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render template ``name``; any failure is a ``TemplateError`` naming it."""
        template = self.template(name)
        try:
            text = template.render(**context)
        except (JinjaTemplateError, TypeError, ValueError, LookupError, ArithmeticError) as exc:
            raise TemplateError(f"template {name} does not render: {exc}") from exc
        return text.rstrip("\n") + "\n"

    def summary(self, trail: Trail, audience: Audience = Audience.TECHNICIAN) -> str:
        """The Markdown summary of ``trail`` for ``audience``."""
        return self.render(
            f"summary-{audience}.md.j2", {"trail": trail_view(trail), "audience": str(audience)}
        )
