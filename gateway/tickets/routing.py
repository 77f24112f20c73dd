"""Classification and routing: which trigger a ticket is, and what to do about it here.

1. **Classify.**  Every trigger scores the ticket: confidence is ``1 - product(1 - w)``
   over the weights of its signals that are found.  The highest confidence at or above
   the trigger's ``min_confidence`` wins; ties go to the higher ``priority``.  None: the
   ticket stays with people, with a note naming the closest trigger and why it fell short.
2. **Know the people.**  The requester must match exactly one active account
   (``verify_caller``); the affected account is the one the text names (a username or an
   email that the directory knows), else the requester.  A name in the text that the
   directory does not know is never replaced by the requester.
3. **Route.**  The trigger's routes are tried in order; the first whose ``when`` holds is
   taken.  A workflow route renders its parameters; a humans route its note.

Every ``RoutingDecision`` carries ``explanation``: the lines that say why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.devices.inventory import AssetSource
from gateway.errors import UnknownActorError
from gateway.expressions import ExpressionError, parse_expression, parse_template, render_value
from gateway.identity.directory import DirectoryConnector
from gateway.identity.facts import IdentityFacts
from gateway.identity.verification import CallerNotVerifiedError, verify_caller
from gateway.tickets.catalog import SoftwareCatalog
from gateway.tickets.extraction import Extraction, extract
from gateway.tickets.model import Ticket
from gateway.tickets.rules import Route, Trigger, TriggerSet

__all__ = ["ALERT_SOURCE", "Classification", "Router", "RoutingDecision", "facts_scope"]

DEFAULT_QUEUE = "service-desk"
ALERT_SOURCE = "alertmanager"  # the source of monitoring alerts, routed by alert triggers


@dataclass(frozen=True, slots=True)
class Classification:
    trigger: Trigger | None
    confidence: float
    matched: tuple[str, ...]  # the signals found, described
    closest: tuple[str, float] | None = None  # best trigger below its threshold


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    ticket: str  # the ticket's ref
    trigger: str | None
    route: str | None
    confidence: float
    workflow: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    actor: str | None = None
    queue: str | None = None
    note: str = ""  # what the ticket is told
    done_note: str | None = None  # the template for the comment when the workflow succeeds
    explanation: tuple[str, ...] = ()
    scope: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def automated(self) -> bool:
        return self.workflow is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket,
            "trigger": self.trigger,
            "route": self.route,
            "confidence": round(self.confidence, 3),
            "workflow": self.workflow,
            "parameters": self.parameters,
            "actor": self.actor,
            "queue": self.queue,
            "note": self.note,
            "explanation": list(self.explanation),
        }


def facts_scope(facts: IdentityFacts) -> dict[str, Any]:
    """What conditions see of a person: plain values only."""
    return {
        "id": facts.id,
        "username": facts.username,
        "email": facts.email,
        "display_name": facts.display_name,
        "status": str(facts.status),
        "groups": sorted(facts.groups),
        "privileged": facts.privileged,
        "department": facts.department,
        "title": facts.title,
        "manager": facts.manager,
        "employee_type": facts.employee_type,
        "mfa_enrolled": facts.mfa_enrolled,
    }


def _ticket_scope(ticket: Ticket) -> dict[str, Any]:
    return {
        "ref": ticket.ref,
        "source": ticket.source,
        "number": ticket.number,
        "subject": ticket.subject,
        "description": ticket.description,
        "category": ticket.category,
        "urgency": ticket.urgency,
        "impact": ticket.impact,
        "priority": ticket.priority,
        "state": ticket.state,
        "fields": dict(ticket.fields),
    }


class _Humans(Exception):
    """The ticket goes to people; the message says why."""


class Router:
    """Classifies and routes tickets with the triggers, the directory and the catalog."""

    def __init__(
        self,
        triggers: TriggerSet,
        directory: DirectoryConnector,
        catalog: SoftwareCatalog,
        assets: AssetSource | None = None,
    ) -> None:
        self.triggers = triggers
        self.directory = directory
        self.catalog = catalog
        self.assets = assets  # asset tags and configuration items to devices

    # -- classification ---------------------------------------------------------------

    def classify(self, ticket: Ticket) -> Classification:
        """The trigger this ticket is, with the confidence and the signals found."""
        text = ticket.text[:20_000]
        best: Classification | None = None
        closest: tuple[str, float] | None = None
        events = "alerts" if ticket.source == ALERT_SOURCE else "tickets"
        for trigger in self.triggers:
            if trigger.definition.events != events:
                continue  # alert triggers see only alerts, ticket triggers only tickets
            remaining = 1.0
            matched: list[str] = []
            for compiled in trigger.signals:
                signal = compiled.signal
                if compiled.regex is not None:
                    found = compiled.regex.search(text)
                    seen = None if found is None else found.group(0)[:60]
                else:
                    value = _field(ticket, str(signal.field))
                    wanted = {item.casefold() for item in signal.equals or []}
                    seen = value if value.casefold() in wanted else None
                if seen is not None:
                    remaining *= 1.0 - compiled.weight
                    matched.append(f"{signal.describe()} found {seen!r}")
            confidence = 1.0 - remaining
            if confidence < trigger.definition.min_confidence:
                if confidence > 0 and (closest is None or confidence > closest[1]):
                    closest = (trigger.id, confidence)
                continue
            if best is None or confidence > best.confidence + 1e-9:
                best = Classification(trigger, confidence, tuple(matched))
        if best is None:
            return Classification(None, 0.0, (), closest)
        return best

    # -- routing --------------------------------------------------------------------------

    def route(self, ticket: Ticket, extraction: Extraction | None = None) -> RoutingDecision:
        """What to do with ``ticket``, and why.  Raises ``DirectoryUnavailableError`` when
        the directory cannot answer (try again later); never guesses."""
        extraction = (
            extraction if extraction is not None else extract(ticket, self.catalog, self.assets)
        )
        classification = self.classify(ticket)
        trigger = classification.trigger
        if trigger is None:
            return self._unclassified(ticket, classification)
        why = [
            f"classified as {trigger.id} ({trigger.definition.title}) with confidence "
            f"{classification.confidence:.2f} (at least {trigger.definition.min_confidence:.2f}"
            f" needed): {'; '.join(classification.matched)}"
        ]
        scope: dict[str, Any] = {
            "ticket": _ticket_scope(ticket),
            "extracted": extraction.as_scope(),
            "classification": {"trigger": trigger.id, "confidence": classification.confidence},
            "requester": None,
            "target": None,
        }
        try:
            requester = self._requester(ticket, why)
            scope["requester"] = facts_scope(requester)
            target = self._target(trigger, requester, extraction, why)
            scope["target"] = None if target is None else facts_scope(target)
            return self._pick(ticket, trigger, classification, scope, why)
        except _Humans as exc:
            why.append(str(exc))
            note = f"Left for a person: {exc}."
            return RoutingDecision(
                ticket.ref, trigger.id, None, classification.confidence,
                queue=DEFAULT_QUEUE, note=note, explanation=tuple(why), scope=scope,
            )  # fmt: skip

    def _unclassified(self, ticket: Ticket, classification: Classification) -> RoutingDecision:
        if classification.closest is not None:
            name, confidence = classification.closest
            reason = (
                f"no trigger is confident enough; the closest, {name}, reached "
                f"{confidence:.2f}, below its threshold"
            )
        else:
            reason = "no trigger matches anything in this ticket"
        return RoutingDecision(
            ticket.ref, None, None, 0.0, queue=DEFAULT_QUEUE,
            note=f"Left for a person: {reason}.", explanation=(reason,),
        )  # fmt: skip

    def _requester(self, ticket: Ticket, why: list[str]) -> IdentityFacts:
        unnamed = not ticket.requester_email and not ticket.requester_username
        if unnamed and ticket.requester_unverified:
            raise _Humans(f"the requester could not be verified: {ticket.requester_unverified}")
        try:
            facts = verify_caller(
                self.directory,
                email=ticket.requester_email,
                username=ticket.requester_username,
            )
        except CallerNotVerifiedError as exc:
            raise _Humans(f"the requester could not be verified: {exc}") from exc
        why.append(f"requester verified as {facts.id}")
        return facts

    def _account(self, *, username: str | None = None, email: str | None = None) -> IdentityFacts:
        matches = self.directory.find_users(username=username, email=email)
        if len(matches) != 1:
            raise UnknownActorError(username or email or "")
        return matches[0]

    def _target(
        self,
        trigger: Trigger,
        requester: IdentityFacts,
        extraction: Extraction,
        why: list[str],
    ) -> IdentityFacts | None:
        kind = trigger.definition.target
        if kind == "none":
            return None
        named = [("username", name) for name in extraction.usernames]
        named += [("email", email) for email in extraction.emails]
        if kind == "requester" or not named:
            why.append(f"the affected account is the requester's own ({requester.id})")
            return requester
        unknown = []
        for key, value in named:
            try:
                facts = self._account(**{key: value})
            except UnknownActorError:
                unknown.append(value)
                continue
            why.append(f"the affected account is {facts.id} (named as {key} {value!r})")
            return facts
        names = ", ".join(repr(value) for value in unknown)
        raise _Humans(f"the ticket names {names}, which the directory does not know")

    def _pick(
        self,
        ticket: Ticket,
        trigger: Trigger,
        classification: Classification,
        scope: dict[str, Any],
        why: list[str],
    ) -> RoutingDecision:
        for route in trigger.definition.routes:
            if route.when is not None:
                try:
                    holds = parse_expression(route.when).evaluate_bool(scope)
                except ExpressionError as exc:
                    why.append(f"route {route.id}: condition could not be evaluated: {exc}")
                    continue
                if not holds:
                    why.append(f"route {route.id} does not apply: not ({route.when})")
                    continue
                why.append(f"route {route.id} applies: {route.when}")
            else:
                why.append(f"route {route.id} applies (no condition)")
            return self._decide(ticket, trigger, classification, route, scope, why)
        raise _Humans(f"no route of trigger {trigger.id} fits this ticket")

    def _decide(
        self,
        ticket: Ticket,
        trigger: Trigger,
        classification: Classification,
        route: Route,
        scope: dict[str, Any],
        why: list[str],
    ) -> RoutingDecision:
        try:
            if route.humans is not None:
                note = parse_template(route.humans.note).render(scope)
                return RoutingDecision(
                    ticket.ref, trigger.id, route.id, classification.confidence,
                    queue=route.humans.queue, note=note, explanation=tuple(why), scope=scope,
                )  # fmt: skip
            parameters = render_value(route.with_, scope)
            note = "" if route.note is None else parse_template(route.note).render(scope)
        except ExpressionError as exc:
            raise _Humans(f"route {route.id} could not be filled in: {exc}") from exc
        actor = scope["requester"]["id"] if route.run_as == "requester" else route.run_as
        why.append(f"starts workflow {route.workflow} as {actor}")
        return RoutingDecision(
            ticket.ref, trigger.id, route.id, classification.confidence,
            workflow=route.workflow, parameters=dict(parameters), actor=actor, note=note,
            done_note=route.done_note, explanation=tuple(why), scope=scope,
        )  # fmt: skip


def _field(ticket: Ticket, name: str) -> str:
    return ticket.category if name == "category" else ticket.fields.get(name, "")
