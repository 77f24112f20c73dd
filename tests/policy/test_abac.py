"""Cedar evaluation: slices decide as the whole set does, and errors never allow."""

from __future__ import annotations

import json
from pathlib import Path

import cedarpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.identity.static import StaticDirectory
from gateway.policy.abac import CedarEngine, CedarOutcome, clean_error, principal_scope
from gateway.policy.bundle import load_bundle
from gateway.policy.decision import Effect
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.engine import PolicyEngine
from gateway.policy.entities import resource_entity, user_entity
from gateway.policy.request import AccessRequest
from tests.policy.conftest import SHIPPED_POLICIES, TEST_DIRECTORY

BUNDLE = load_bundle(SHIPPED_POLICIES)
DIRECTORY = StaticDirectory.load(TEST_DIRECTORY)
ENGINE = CedarEngine(BUNDLE.policies, BUNDLE.schema)
ACTORS = ["alice", "hank", "tara", "ivan", "root", "sofia", "dora", "lars", "pete", "guest"]
ACTIONS = [
    "password.reset",
    "account.unlock",
    "access.grant",
    "access.revoke",
    "software.install",
    "diagnostics.run",
    "kb.publish",
    "printer.reboot",
]
RESOURCES = [
    "account:alice",
    "account:root",
    "account:lars",
    "account:ivan",
    "software:visio",
    "software:torrent",
    "host:printer",
    "article:vpn",
]
CONTEXTS = st.fixed_dictionaries(
    {},
    optional={
        "change_freeze": st.booleans(),
        "system": st.sampled_from(["payroll", "crm"]),
        "duration_hours": st.integers(min_value=-5, max_value=2000),
    },
)


@settings(max_examples=200, deadline=None)
@given(
    actor=st.sampled_from(ACTORS),
    action=st.sampled_from(ACTIONS),
    resource=st.sampled_from(RESOURCES),
    context=CONTEXTS,
)
def test_the_action_slice_decides_exactly_as_the_whole_policy_set(
    actor: str, action: str, resource: str, context: dict[str, object]
) -> None:
    engine = CedarEngine(BUNDLE.policies, BUNDLE.schema)
    whole = CedarEngine.compile(BUNDLE.policies)
    facts = DIRECTORY.get_user(actor)
    kind, ident = resource.split(":")
    entities = json.dumps(
        [user_entity(facts), resource_entity(kind, ident, DIRECTORY.get_resource(kind, ident))]
    )
    principal = {"type": "User", "id": actor}
    target = {"type": kind.capitalize(), "id": ident}

    sliced = engine.evaluate(action, principal, target, json.dumps(context), entities)
    request = {
        "principal": principal,
        "action": {"type": "Action", "id": action},
        "resource": target,
        "context": context,
    }
    full = cedarpy.is_authorized(request, whole, entities, schema=BUNDLE.schema)

    assert sliced.allowed == (full.allowed and not full.diagnostics.errors)
    assert set(sliced.permits + sliced.forbids) == set(full.diagnostics.reasons)
    assert len(sliced.errors) == len(full.diagnostics.errors)


def test_a_slice_holds_only_the_policies_that_can_apply() -> None:
    engine = CedarEngine(BUNDLE.policies, BUNDLE.schema)

    ids = [policy.id for policy in engine.policies_for("kb.publish")]

    assert ids == [
        "change-request-not-ready",  # any action under a change that is not ready
        "inactive-actor",
        "impaired-actor",
        "impaired-actor-recovers-only-itself",
        "change-freeze",
        "kb-publish-helpdesk",
    ]
    assert engine.policy_set("kb.publish") is engine.policy_set("kb.publish")


ERRING_FORBID = """
@id("overflow-guard")
@message("guards against huge grants")
forbid (principal, action == Action::"access.grant", resource)
when { context has duration_hours && context.duration_hours * 4611686018427387904 > 0 };
"""


def test_a_forbid_that_fails_to_evaluate_turns_an_allow_into_a_deny(bundle_copy: Path) -> None:
    (bundle_copy / "cedar" / "erring.cedar").write_text(ERRING_FORBID)
    engine = PolicyEngine(load_bundle(bundle_copy))
    pdp = PolicyDecisionPoint(lambda: engine)
    request = AccessRequest.model_validate(
        {
            "actor": "ivan",
            "action": "access.grant",
            "resource": "account:alice",
            "context": {"system": "payroll", "duration_hours": 8},
        }
    )

    decision = pdp.decide(
        request, DIRECTORY.get_user("ivan"), DIRECTORY.get_resource("account", "alice")
    )

    assert decision.decision is Effect.DENY
    error = next(reason for reason in decision.reasons if reason.effect == "error")
    assert "overflow-guard" in error.message
    assert "overflow" in error.message


def test_entity_documents_are_not_quoted_back_in_errors() -> None:
    message = 'failed to parse entities from:\n[{"uid": {"id": "bob"}}]: attribute `x` is missing'

    assert clean_error(message) == "invalid entity data: attribute `x` is missing"
    assert clean_error("record does not have the attribute `y`") == (
        "record does not have the attribute `y`"
    )


def _evaluate(
    engine: CedarEngine, actor: str, action: str, resource: str, context: dict[str, object]
) -> tuple[CedarOutcome, CedarOutcome]:
    """The answer over the sets the actor's groups can match, and over the whole slice."""
    facts = DIRECTORY.get_user(actor)
    kind, ident = resource.split(":")
    entities = json.dumps(
        [user_entity(facts), resource_entity(kind, ident, DIRECTORY.get_resource(kind, ident))]
    )
    principal = {"type": "User", "id": actor}
    target = {"type": kind.capitalize(), "id": ident}
    context_json = json.dumps(context)
    scoped = engine.evaluate(
        action, principal, target, context_json, entities, principal_groups=facts.groups
    )
    whole = engine.evaluate(action, principal, target, context_json, entities)
    return scoped, whole


@settings(max_examples=200, deadline=None)
@given(
    actor=st.sampled_from(ACTORS[:-1]),  # every actor the directory knows
    action=st.sampled_from(ACTIONS),
    resource=st.sampled_from(RESOURCES),
    context=CONTEXTS,
)
def test_only_the_policies_the_principal_can_match_decide_as_the_whole_slice_does(
    actor: str, action: str, resource: str, context: dict[str, object]
) -> None:
    scoped, whole = _evaluate(ENGINE, actor, action, resource, context)

    assert scoped.allowed == whole.allowed
    assert set(scoped.permits) == set(whole.permits)
    assert set(scoped.forbids) == set(whole.forbids)
    assert scoped.errors == whole.errors


def test_policies_scoped_to_a_group_stay_apart_from_the_rest() -> None:
    policies = {policy.id: policy for policy in BUNDLE.policies}

    assert principal_scope(policies["kb-publish-helpdesk"]) == ("Group", "helpdesk")
    assert principal_scope(policies["inactive-actor"]) is None


GROUP_FORBID = """
@id("helpdesk-not-on-printers")
@message("helpdesk may not run diagnostics on printers")
forbid (principal in Group::"helpdesk", action == Action::"diagnostics.run", resource);
"""

USER_PERMIT = """
@id("hank-may-run-diagnostics")
@message("hank may run diagnostics")
permit (principal == User::"hank", action == Action::"diagnostics.run", resource);
"""

GROUP_ERRING_FORBID = """
@id("admin-overflow-guard")
@message("guards against huge grants by admins")
forbid (principal in Group::"it-admins", action == Action::"access.grant", resource)
when { context has duration_hours && context.duration_hours * 4611686018427387904 > 0 };
"""


def test_a_forbid_scoped_to_a_group_names_itself_and_denies(bundle_copy: Path) -> None:
    (bundle_copy / "cedar" / "scoped.cedar").write_text(GROUP_FORBID)
    engine = CedarEngine(load_bundle(bundle_copy).policies, BUNDLE.schema)

    scoped, whole = _evaluate(engine, "hank", "diagnostics.run", "host:printer", {})

    assert scoped == CedarOutcome(False, (), ("helpdesk-not-on-printers",), ())
    assert whole == scoped


def test_a_permit_scoped_to_the_principal_itself_is_evaluated_for_it(bundle_copy: Path) -> None:
    (bundle_copy / "cedar" / "scoped.cedar").write_text(USER_PERMIT)
    engine = CedarEngine(load_bundle(bundle_copy).policies, BUNDLE.schema)

    hank, _ = _evaluate(engine, "hank", "diagnostics.run", "host:printer", {})
    alice, _ = _evaluate(engine, "alice", "diagnostics.run", "host:printer", {})

    assert "hank-may-run-diagnostics" in hank.permits
    assert alice == CedarOutcome(False, (), (), ())


def test_an_error_in_a_scoped_set_reads_as_the_whole_slice_reports_it(bundle_copy: Path) -> None:
    (bundle_copy / "cedar" / "scoped.cedar").write_text(GROUP_ERRING_FORBID)
    engine = CedarEngine(load_bundle(bundle_copy).policies, BUNDLE.schema)
    context = {"system": "payroll", "duration_hours": 8}

    scoped, whole = _evaluate(engine, "ivan", "access.grant", "account:alice", context)

    assert scoped == whole
    assert not scoped.allowed
    assert any("admin-overflow-guard" in error for error in scoped.errors)


def test_a_prepared_action_is_decided_without_parsing_policies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = CedarEngine(BUNDLE.policies, BUNDLE.schema)
    engine.prepare("password.reset")

    def refuse(policies: object) -> cedarpy.PolicySet:
        raise AssertionError("policies parsed at decision time")

    monkeypatch.setattr(CedarEngine, "compile", staticmethod(refuse))
    for actor in ("hank", "sofia", "alice"):
        scoped, whole = _evaluate(engine, actor, "password.reset", "account:alice", {})
        assert scoped.allowed == whole.allowed
