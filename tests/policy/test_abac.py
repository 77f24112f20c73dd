"""Cedar evaluation: slices decide as the whole set does, and errors never allow."""

from __future__ import annotations

import json
from pathlib import Path

import cedarpy
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.identity.static import StaticDirectory
from gateway.policy.abac import CedarEngine, clean_error
from gateway.policy.bundle import load_bundle
from gateway.policy.decision import Effect
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.engine import PolicyEngine
from gateway.policy.entities import resource_entity, user_entity
from gateway.policy.request import AccessRequest
from tests.policy.conftest import SHIPPED_POLICIES, TEST_DIRECTORY

BUNDLE = load_bundle(SHIPPED_POLICIES)
DIRECTORY = StaticDirectory.load(TEST_DIRECTORY)
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
