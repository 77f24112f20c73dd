"""Policies left out for a request that cannot meet them decide nothing differently."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.identity.static import StaticDirectory
from gateway.policy.abac import CedarEngine, CedarOutcome
from gateway.policy.bundle import load_bundle
from gateway.policy.cedar_source import CedarPolicy
from gateway.policy.entities import resource_entity, user_entity
from gateway.policy.policy_index import MAX_CONTEXT_GUARDS, plan_slice
from tests.policy.conftest import SHIPPED_POLICIES, TEST_DIRECTORY

DIRECTORY = StaticDirectory.load(TEST_DIRECTORY)

GUARDED = """
@id("unlock-frozen")
@message("no unlocks during a freeze")
forbid (principal, action == Action::"account.unlock", resource)
when { context has change_freeze && context.change_freeze };

@id("stale-step-up")
@message("a step-up older than a day is not accepted")
forbid (principal, action, resource)
when { context has step_up_age_seconds && context.step_up_age_seconds > 86400 };

@id("helpdesk-or-tara-admin")
@message("helpdesk or tara may take local admin with a ticket")
permit (principal, action == Action::"device.local_admin", resource)
when { (principal in Group::"helpdesk" || principal == User::"tara") && context has ticket };

@id("no-ticketless-admin")
@message("local admin needs a ticket")
forbid (principal, action == Action::"device.local_admin", resource)
unless { context has ticket };

@id("overflowing-duration")
@message("errs when a duration is given")
forbid (principal, action == Action::"diagnostics.run", resource)
when { context has duration_hours && context.duration_hours * 4611686018427387904 > 0 };

@id("literal-first")
@message("a condition that starts with a literal")
permit (principal, action == Action::"diagnostics.run", resource)
when { true && context has ticket };

@id("ticketed-diagnostics")
@message("anyone may run diagnostics for a ticket")
permit (principal, action == Action::"diagnostics.run", resource)
when { context has ticket };
"""

ACTORS = ["alice", "hank", "tara", "ivan", "root", "sofia", "lars", "pete"]
REQUESTS = [
    ("account.unlock", "account:alice"),
    ("account.unlock", "account:lars"),
    ("password.reset", "account:alice"),
    ("device.local_admin", "host:printer"),
    ("diagnostics.run", "host:printer"),
]
CONTEXTS = st.fixed_dictionaries(
    {},
    optional={
        "change_freeze": st.booleans(),
        "step_up_age_seconds": st.sampled_from([30, 100_000]),
        "ticket": st.just("INC-7"),
        "duration_hours": st.integers(min_value=1, max_value=8),
        "channel": st.sampled_from(["api", "chat"]),
    },
)


@pytest.fixture(scope="module")
def guarded_engine(tmp_path_factory: pytest.TempPathFactory) -> CedarEngine:
    root = tmp_path_factory.mktemp("bundle") / "policies"
    shutil.copytree(SHIPPED_POLICIES, root)
    (root / "cedar" / "guarded.cedar").write_text(GUARDED)
    bundle = load_bundle(root)
    return CedarEngine(bundle.policies, bundle.schema)


def _both(
    engine: CedarEngine, actor: str, action: str, resource: str, context_json: str
) -> tuple[CedarOutcome, CedarOutcome]:
    facts = DIRECTORY.get_user(actor)
    kind, ident = resource.split(":")
    entities = json.dumps(
        [user_entity(facts), resource_entity(kind, ident, DIRECTORY.get_resource(kind, ident))]
    )
    principal = {"type": "User", "id": actor}
    target = {"type": kind.capitalize(), "id": ident}
    indexed = engine.evaluate(
        action, principal, target, context_json, entities, principal_groups=facts.groups
    )
    whole = engine.evaluate(action, principal, target, context_json, entities)
    return indexed, whole


@settings(max_examples=200, deadline=None)
@given(
    actor=st.sampled_from(ACTORS),
    request=st.sampled_from(REQUESTS),
    context=CONTEXTS,
)
def test_policies_guarded_by_context_and_principal_decide_as_the_whole_slice(
    guarded_engine: CedarEngine,
    actor: str,
    request: tuple[str, str],
    context: dict[str, object],
) -> None:
    indexed, whole = _both(guarded_engine, actor, *request, json.dumps(context))

    assert indexed == whole


@pytest.mark.parametrize(
    ("actor", "context", "expected"),
    [
        pytest.param("hank", {"ticket": "INC-7"}, True, id="a helpdesk member with a ticket"),
        pytest.param("tara", {"ticket": "INC-7"}, True, id="the named user with a ticket"),
        pytest.param("alice", {"ticket": "INC-7"}, False, id="someone else with a ticket"),
        pytest.param("hank", {}, False, id="a helpdesk member without a ticket"),
        pytest.param(
            "hank",
            {"ticket": "INC-7", "step_up_age_seconds": 100_000},
            False,
            id="a helpdesk member with a day-old step-up",
        ),
    ],
)
def test_guarded_policies_still_decide_when_their_guard_holds(
    guarded_engine: CedarEngine, actor: str, context: dict[str, object], expected: bool
) -> None:
    indexed, whole = _both(
        guarded_engine, actor, "device.local_admin", "host:printer", json.dumps(context)
    )

    assert indexed == whole
    assert indexed.allowed is expected


def test_a_freeze_is_seen_by_the_guarded_forbid(guarded_engine: CedarEngine) -> None:
    context = json.dumps({"change_freeze": True})

    frozen, _ = _both(guarded_engine, "hank", "account.unlock", "account:alice", context)

    assert "unlock-frozen" in frozen.forbids
    assert not frozen.allowed


def test_a_context_that_is_not_an_object_is_refused_as_before(guarded_engine: CedarEngine) -> None:
    for context_json in ("[1, 2]", "{not json"):
        indexed, whole = _both(
            guarded_engine, "hank", "account.unlock", "account:alice", context_json
        )

        assert indexed == whole
        assert not indexed.allowed
        assert indexed.errors


def _policies(engine: CedarEngine, *ids: str) -> list[CedarPolicy]:
    return [engine.policies[policy_id] for policy_id in ids]


def test_the_plan_keeps_each_policy_where_its_first_test_sends_it(
    guarded_engine: CedarEngine,
) -> None:
    plan = plan_slice(
        _policies(
            guarded_engine,
            "unlock-frozen",
            "stale-step-up",
            "helpdesk-or-tara-admin",
            "no-ticketless-admin",
            "ticketed-diagnostics",
            "account-unlock-helpdesk",
            "literal-first",
        )
    )

    assert [p.id for p in plan.always] == ["no-ticketless-admin", "literal-first"]
    assert {key: [p.id for p in found] for key, found in plan.guarded.items()} == {
        "change_freeze": ["unlock-frozen"],
        "step_up_age_seconds": ["stale-step-up"],
        "ticket": ["ticketed-diagnostics"],
    }
    assert {key: [p.id for p in found] for key, found in plan.scoped.items()} == {
        ("Group", "helpdesk"): ["helpdesk-or-tara-admin", "account-unlock-helpdesk"],
        ("User", "tara"): ["helpdesk-or-tara-admin"],
    }
    assert plan.context_keys({"ticket": "x", "channel": "api"}) == {"ticket"}
    assert plan.context_keys(None) == set(plan.guarded)
    assert len(list(plan.combinations())) == 2**3


def _guarded_by(key: str, number: int) -> str:
    return (
        f'@id("guarded-{key}-{number}")\n'
        f'permit (principal, action == Action::"diagnostics.run", resource)\n'
        f"when {{ context has {key} && principal.mfa_enrolled }};\n"
    )


def test_only_the_attributes_guarding_most_policies_get_sets_of_their_own(
    bundle_copy: Path,
) -> None:
    keys = ["channel", "ticket", "system", "device", "reason", "change"]
    text = "".join(
        _guarded_by(key, number) for rank, key in enumerate(keys) for number in range(6 - rank)
    )
    (bundle_copy / "cedar" / "many.cedar").write_text(text)
    bundle = load_bundle(bundle_copy)
    engine = CedarEngine(bundle.policies, bundle.schema)

    plan = plan_slice(engine.policies_for("diagnostics.run"))

    assert sorted(plan.guarded) == sorted(keys[:MAX_CONTEXT_GUARDS])
    always = {policy.id for policy in plan.always}
    assert {f"guarded-reason-{n}" for n in range(2)} <= always
    assert {f"guarded-change-{n}" for n in range(1)} <= always
