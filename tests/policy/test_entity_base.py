"""The directory's entities parsed once: same decisions, and changed facts seen at once."""

from __future__ import annotations

from pathlib import Path

import cedarpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.identity.facts import AccountStatus, IdentityFacts
from gateway.identity.static import StaticDirectory
from gateway.policy.bundle import load_bundle
from gateway.policy.decision import Decision
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.engine import PolicyEngine
from gateway.policy.entity_base import EntityBase, entity_text
from gateway.policy.request import AccessRequest
from tests.policy.conftest import SHIPPED_POLICIES, TEST_DIRECTORY

BUNDLE = load_bundle(SHIPPED_POLICIES)
DIRECTORY = StaticDirectory.load(TEST_DIRECTORY)
USERS = ["alice", "mona", "hank", "tara", "ivan", "root", "sofia", "dora", "lars", "pete", "otto"]
RESOURCES = [
    ("account", "alice"),
    ("account", "root"),
    ("account", "lars"),
    ("software", "visio"),
    ("software", "torrent"),
    ("host", "printer"),
    ("article", "vpn"),
]
ACTIONS = {
    "account": ["password.reset", "account.unlock", "access.grant", "access.revoke"],
    "software": ["software.install"],
    "host": ["diagnostics.run", "printer.reboot"],
    "article": ["kb.publish"],
}
CONTEXTS = st.fixed_dictionaries(
    {},
    optional={
        "change_freeze": st.booleans(),
        "step_up_age_seconds": st.sampled_from([5, 240, 3_600, 100_000]),
        "system": st.sampled_from(["payroll", "crm"]),
        "duration_hours": st.integers(min_value=1, max_value=200),
        "ticket": st.just("INC-1"),
        "change_request": st.fixed_dictionaries(
            {
                "number": st.just("CHG1"),
                "approved": st.booleans(),
                "implementing": st.booleans(),
                "in_window": st.booleans(),
            }
        ),
    },
)


def _loaded(bundle_root: Path = SHIPPED_POLICIES) -> PolicyEngine:
    engine = PolicyEngine(load_bundle(bundle_root))
    actors = [DIRECTORY.get_user(user) for user in USERS]
    resources = [(kind, ident, DIRECTORY.get_resource(kind, ident)) for kind, ident in RESOURCES]
    engine.load_directory(actors, resources)
    return engine


def _decide(
    engine: PolicyEngine,
    actor: IdentityFacts,
    action: str,
    resource: str,
    context: dict[str, object],
) -> Decision:
    kind, ident = resource.split(":")
    request = AccessRequest.model_validate(
        {"actor": actor.id, "action": action, "resource": resource, "context": context}
    )
    point = PolicyDecisionPoint(lambda: engine)
    return point.decide(request, actor, DIRECTORY.get_resource(kind, ident))


def _answer(decision: Decision) -> tuple[object, ...]:
    return (decision.decision, decision.reasons, decision.obligations, decision.remedies)


def _count_parses(monkeypatch: pytest.MonkeyPatch, engine: PolicyEngine) -> list[str]:
    """The entity documents ``engine`` parses from now on."""
    parsed: list[str] = []
    parse = engine.cedar._entities

    def counted(entities_json: str) -> cedarpy.Entities:
        parsed.append(entities_json)
        return parse(entities_json)

    monkeypatch.setattr(engine.cedar, "_entities", counted)
    return parsed


LOADED = _loaded()


@settings(max_examples=150, deadline=None)
@given(
    actor=st.sampled_from(USERS),
    resource=st.sampled_from(RESOURCES),
    data=st.data(),
    context=CONTEXTS,
)
def test_decisions_on_the_loaded_directory_are_those_on_the_requests_own_entities(
    actor: str, resource: tuple[str, str], data: st.DataObject, context: dict[str, object]
) -> None:
    action = data.draw(st.sampled_from(ACTIONS[resource[0]]))
    facts = DIRECTORY.get_user(actor)
    target = ":".join(resource)

    loaded = _decide(LOADED, facts, action, target, context)
    plain = _decide(PolicyEngine(BUNDLE), facts, action, target, context)

    assert _answer(loaded) == _answer(plain)


def test_unchanged_facts_are_decided_without_parsing_entities(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = _loaded()
    parsed = _count_parses(monkeypatch, engine)
    change = {"number": "CHG1", "approved": False, "implementing": True, "in_window": True}

    decision = _decide(engine, DIRECTORY.get_user("hank"), "password.reset", "account:alice", {})
    frozen = _decide(
        engine, DIRECTORY.get_user("ivan"), "access.grant", "account:alice", {"change_freeze": True}
    )
    unready = _decide(
        engine,
        DIRECTORY.get_user("hank"),
        "password.reset",
        "account:alice",
        {"change_request": change},
    )

    assert parsed == []
    assert decision.allowed
    assert not frozen.allowed
    assert "change-freeze" in {reason.policy for reason in frozen.reasons}
    assert "change-request-not-ready" in {reason.policy for reason in unready.reasons}


@pytest.mark.parametrize(
    "context",
    [
        pytest.param({"change_request": {"type": "User", "id": "ivan"}}, id="a record"),
        pytest.param(
            {"reason": ["cover", {"__entity": {"type": "User", "id": "ivan"}}]}, id="in a list"
        ),
    ],
)
def test_a_context_naming_an_entity_is_decided_on_the_requests_own_entities(
    monkeypatch: pytest.MonkeyPatch, context: dict[str, object]
) -> None:
    engine = _loaded()
    parsed = _count_parses(monkeypatch, engine)
    hank = DIRECTORY.get_user("hank")

    loaded = _decide(engine, hank, "password.reset", "account:alice", context)
    plain = _decide(PolicyEngine(BUNDLE), hank, "password.reset", "account:alice", context)

    assert len(parsed) == 1
    assert _answer(loaded) == _answer(plain)
    assert not loaded.allowed


@pytest.mark.parametrize(
    ("actor", "change"),
    [
        pytest.param("hank", {"groups": frozenset({"staff"})}, id="a group membership removed"),
        pytest.param("hank", {"status": AccountStatus.DISABLED}, id="the account disabled"),
        pytest.param("lars", {"mfa_factors": ()}, id="an attribute changed"),
    ],
)
def test_a_fact_changed_after_the_load_is_seen_by_the_very_next_decision(
    actor: str, change: dict[str, object]
) -> None:
    engine = _loaded()
    facts = DIRECTORY.get_user(actor)
    changed = facts.model_copy(update=change)
    before = _decide(engine, facts, "account.unlock", "account:lars", {})

    after = _decide(engine, changed, "account.unlock", "account:lars", {})
    plain = _decide(PolicyEngine(BUNDLE), changed, "account.unlock", "account:lars", {})

    assert before.allowed
    assert not after.allowed
    assert _answer(after) == _answer(plain)


MANAGER_PERMIT = """
@id("same-department-as-the-manager")
@message("the actor works in their manager's department")
permit (principal, action == Action::"diagnostics.run", resource)
when { principal has manager && principal.manager.department == principal.department };
"""


def test_a_policy_reading_another_entity_is_decided_on_the_requests_own_entities(
    bundle_copy: Path,
) -> None:
    (bundle_copy / "cedar" / "manager.cedar").write_text(MANAGER_PERMIT)
    engine = _loaded(bundle_copy)

    loaded = _decide(engine, DIRECTORY.get_user("hank"), "diagnostics.run", "host:printer", {})
    plain = _decide(
        PolicyEngine(load_bundle(bundle_copy)),
        DIRECTORY.get_user("hank"),
        "diagnostics.run",
        "host:printer",
        {},
    )

    # hank's manager ivan is in the loaded directory, but not among the request's entities
    assert _answer(loaded) == _answer(plain)
    assert any("same-department-as-the-manager" in reason.message for reason in loaded.reasons)
    assert not loaded.allowed


def _user(ident: str, **attrs: object) -> dict[str, object]:
    base: dict[str, object] = {
        "department": "IT",
        "title": "",
        "status": "active",
        "privileged": False,
        "mfa_enrolled": True,
        "employee_type": "employee",
        "location": "",
    }
    return {"uid": {"type": "User", "id": ident}, "attrs": base | attrs, "parents": []}


def test_the_base_leaves_out_refused_duplicated_and_parent_entities() -> None:
    good = _user("good")
    refused = _user("refused", privileged="yes")  # the schema wants a Bool
    twice = [_user("twice"), _user("twice", department="Sales")]
    child = _user("child") | {"parents": [{"type": "Group", "id": "team"}]}
    parent = {"uid": {"type": "Group", "id": "team"}, "attrs": {}, "parents": []}

    base = EntityBase.load([good, refused, *twice, child, parent], BUNDLE.schema)

    assert base.holds([entity_text(good), entity_text(child)])
    for left_out in (refused, *twice, parent):
        assert not base.holds([entity_text(left_out)])
    assert len(base) == 2


def test_an_empty_base_serves_no_request() -> None:
    base = EntityBase.load([], BUNDLE.schema)

    assert not base.holds([entity_text(_user("good"))])
    assert len(base) == 0
