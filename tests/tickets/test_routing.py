"""Routing with triggers written for the test: ties, near misses, names the directory does
not know, conditions that cannot be evaluated, routes that cannot be filled in."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.identity.static import StaticDirectory
from gateway.tickets import Router, SoftwareCatalog, Ticket
from gateway.tickets.model import TicketId
from gateway.tickets.rules import load_triggers
from tests.tickets.conftest import REPO

DIRECTORY = REPO / "gateway" / "defaults" / "directory.yaml"


def _router(tmp_path: Path, *triggers: str) -> Router:
    for index, text in enumerate(triggers):
        (tmp_path / f"t{index}.yaml").write_text(text, encoding="utf-8")
    return Router(
        load_triggers(tmp_path),
        StaticDirectory.load(DIRECTORY),
        SoftwareCatalog.from_directory_file(DIRECTORY),
    )


def _trigger(name: str, routes: str, *, priority: int = 0, target: str = "affected_user") -> str:
    return f"""\
id: {name}
title: {name}
priority: {priority}
target: {target}
min_confidence: 0.5
signals:
  - {{keywords: [vpn], weight: 0.6}}
  - {{field: category, equals: [Network], weight: 0.3}}
routes:
{routes}"""


def _ticket(description: str, category: str = "", email: str = "tom@example.com") -> Ticket:
    return Ticket(
        "embedded", TicketId("T-1"), "T-1", "Help", description,
        requester_email=email, category=category,
    )  # fmt: skip


HUMANS = '  - id: people\n    humans: {note: "for {{ requester.id }}"}\n'


def test_equal_confidence_goes_to_the_higher_priority(tmp_path: Path) -> None:
    router = _router(
        tmp_path, _trigger("low", HUMANS, priority=1), _trigger("high", HUMANS, priority=9)
    )
    decision = router.route(_ticket("vpn is down", category="network"))

    assert decision.trigger == "high"
    assert decision.confidence == pytest.approx(0.72)
    assert "field category (weight 0.3) found 'network'" in decision.explanation[0]


def test_a_near_miss_is_named(tmp_path: Path) -> None:
    router = _router(tmp_path, _trigger("vpn", HUMANS))
    decision = router.route(_ticket("network trouble", category="network"))

    assert decision.trigger is None
    assert decision.explanation == (
        "no trigger is confident enough; the closest, vpn, reached 0.30, below its threshold",
    )


def test_a_name_the_directory_does_not_know_is_never_replaced_by_the_requester(
    tmp_path: Path,
) -> None:
    router = _router(tmp_path, _trigger("vpn", HUMANS))
    decision = router.route(_ticket("vpn for user: ghost and nobody@example.com please"))

    assert decision.route is None
    assert decision.note == (
        "Left for a person: the ticket names 'ghost', 'nobody@example.com', which the "
        "directory does not know."
    )


def test_without_a_target_the_routes_see_none(tmp_path: Path) -> None:
    routes = '  - id: r\n    when: "target == null"\n    humans: {note: "no target"}\n'
    decision = _router(tmp_path, _trigger("vpn", routes, target="none")).route(_ticket("vpn"))

    assert decision.note == "no target"


def test_conditions_that_cannot_be_evaluated_are_skipped_and_said(tmp_path: Path) -> None:
    routes = '  - id: r\n    when: "ticket.nothing.deeper"\n    humans: {note: "x"}\n'
    decision = _router(tmp_path, _trigger("vpn", routes)).route(_ticket("vpn"))

    assert decision.route is None
    assert decision.explanation[-2].startswith("route r: condition could not be evaluated: ")
    assert decision.explanation[-1] == "no route of trigger vpn fits this ticket"


def test_a_route_that_cannot_be_filled_in_goes_to_people(tmp_path: Path) -> None:
    routes = (
        "  - id: r\n    workflow: password-reset\n    run_as: elena\n"
        '    with: {user: ["{{ target.id }}"], must_change: "{{ target.nothing }}"}\n'
    )
    decision = _router(tmp_path, _trigger("vpn", routes)).route(_ticket("vpn"))

    assert decision.workflow is None
    assert decision.note.startswith("Left for a person: route r could not be filled in: ")


def test_a_route_may_run_as_a_named_account(tmp_path: Path) -> None:
    routes = (
        "  - id: r\n    workflow: password-reset\n    run_as: elena\n"
        "    with: {user: x, must_change: false}\n"
    )
    decision = _router(tmp_path, _trigger("vpn", routes)).route(_ticket("vpn"))

    assert (decision.workflow, decision.actor, decision.note) == ("password-reset", "elena", "")
    assert decision.parameters == {"user": "x", "must_change": False}
