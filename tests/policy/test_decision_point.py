"""The policy decision point, through the gateway, with the shipped starter bundle."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.cli.demo import frozen_calendar
from gateway.policy.decision import ApprovalObligation, Effect, StepUpObligation
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.request import AccessRequest
from tests.policy.conftest import Ask


def test_an_allow_names_the_casbin_rule_with_its_file_and_line(gateway: Gateway, ask: Ask) -> None:
    decision = gateway.authorize(ask("hank", "kb.publish", "article:vpn"))

    assert decision.decision is Effect.ALLOW
    casbin, cedar = decision.reasons
    assert casbin.engine == "casbin"
    assert casbin.policy == "p, role:helpdesk, article, kb.publish"
    assert casbin.message.endswith("policies/casbin/permissions.csv:9)")
    assert (cedar.engine, cedar.effect, cedar.policy) == ("cedar", "permit", "kb-publish-helpdesk")
    assert decision.obligations == ()
    assert decision.remedies == ()


def test_every_decision_carries_the_bundle_digest_and_a_fresh_id(
    gateway: Gateway, ask: Ask
) -> None:
    request = ask("hank", "kb.publish", "article:vpn")

    first, second = gateway.authorize(request), gateway.authorize(request)

    assert first.policy_digest == second.policy_digest == gateway.policies.engine.digest
    assert first.policy_digest.startswith("sha256:")
    assert first.decision_id != second.decision_id
    assert first.reasons == second.reasons


def test_a_role_deny_says_which_role_would_allow_and_which_groups_grant_it(
    gateway: Gateway, ask: Ask
) -> None:
    decision = gateway.authorize(ask("alice", "diagnostics.run", "host:printer"))

    assert decision.decision is Effect.DENY
    assert decision.reasons[0].message == (
        "requires one of [role:technician] for diagnostics.run on host; "
        "alice has roles [role:employee]"
    )
    assert decision.remedies[0] == (
        "hold role role:technician (granted to directory groups group:field-technicians, "
        "group:helpdesk)"
    )
    assert decision.remedies[1].startswith("satisfy policy diagnostics-technicians:")


def test_a_forbid_overrides_a_permit_and_is_named(
    gateway: Gateway, ask: Ask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "changes", frozen_calendar(tmp_path))  # says: frozen

    decision = gateway.authorize(ask("ivan", "access.grant", "account:alice", system="payroll"))

    assert decision.decision is Effect.DENY
    forbid = next(reason for reason in decision.reasons if reason.effect == "forbid")
    assert forbid.policy == "change-freeze"
    assert forbid.message == (
        "forbidden by change-freeze: non-standard changes are frozen during a change freeze"
    )
    assert decision.obligations == ()


def test_obligations_of_every_applying_permit_come_back(gateway: Gateway, ask: Ask) -> None:
    decision = gateway.authorize(ask("ivan", "access.grant", "account:root", system="payroll"))

    assert decision.decision is Effect.ALLOW
    kinds = {(o.type, o.policy) for o in decision.obligations}
    assert kinds == {
        ("approval", "access-grant-with-manager-approval"),
        ("approval", "access-grant-privileged-account"),
    }
    security = next(
        o for o in decision.obligations if o.policy == "access-grant-privileged-account"
    )
    assert isinstance(security, ApprovalObligation)
    assert (security.name, security.quorum, security.approvers) == (
        "approval_security",
        2,
        ("group:security-team",),
    )


def test_step_up_and_approval_together(gateway: Gateway, ask: Ask) -> None:
    decision = gateway.authorize(ask("hank", "password.reset", "account:root"))

    step_up, approval = decision.obligations
    assert isinstance(step_up, StepUpObligation)
    assert step_up.max_age_seconds == 300
    assert isinstance(approval, ApprovalObligation)
    assert approval.escalate_after_seconds == 3600
    assert approval.escalate_to == ("group:it-admins",)


def test_an_unknown_actor_is_denied_without_evaluating(gateway: Gateway, ask: Ask) -> None:
    decision = gateway.authorize(ask("mallory", "password.reset", "account:alice"))

    assert decision.decision is Effect.DENY
    (reason,) = decision.reasons
    assert (reason.engine, reason.effect) == ("gateway", "error")
    assert reason.message == "unknown actor 'mallory': not found in the directory"


def test_an_unknown_resource_type_is_a_deny_naming_the_error(gateway: Gateway, ask: Ask) -> None:
    decision = gateway.authorize(ask("hank", "kb.publish", "spaceship:enterprise"))

    assert decision.decision is Effect.DENY
    messages = [reason.message for reason in decision.reasons]
    assert any(m.startswith("evaluation error:") and "Spaceship" in m for m in messages)
    assert "no directory facts for spaceship:enterprise" in messages


def test_a_resource_without_directory_facts_is_denied_with_that_reason(
    gateway: Gateway, ask: Ask
) -> None:
    decision = gateway.authorize(ask("alice", "software.install", "software:nope"))

    assert decision.decision is Effect.DENY
    assert decision.reasons[-1].message == "no directory facts for software:nope"
    error = next(reason for reason in decision.reasons if reason.effect == "error")
    assert "{" not in error.message, "entity documents are not quoted back"


def test_a_user_resource_that_is_the_actor_is_not_duplicated(gateway: Gateway, ask: Ask) -> None:
    decision = gateway.authorize(ask("hank", "kb.publish", "user:hank"))

    assert decision.decision is Effect.DENY
    assert not any("duplicate" in reason.message for reason in decision.reasons)


def test_the_decision_time_comes_from_the_clock(gateway: Gateway, ask: Ask) -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    pdp = PolicyDecisionPoint(lambda: gateway.policies.engine, clock=lambda: moment)
    request: AccessRequest = ask("hank", "kb.publish", "article:x")
    actor = gateway.directory.get_user("hank")

    assert pdp.decide(request, actor, None).decided_at == moment


def test_stale_resource_facts_need_a_stale_tolerant_action(gateway: Gateway, ask: Ask) -> None:
    moment = datetime(2026, 1, 2, tzinfo=UTC)
    pdp = PolicyDecisionPoint(lambda: gateway.policies.engine)
    actor = gateway.directory.get_user("hank")
    target = gateway.directory.get_resource("account", "alice")
    assert target is not None

    decision = pdp.decide(
        ask("hank", "password.reset", "account:alice"),
        actor,
        target.model_copy(update={"stale_since": moment}),
    )

    assert not decision.allowed
    assert decision.reasons[0].message == (
        "directory unavailable: facts served from cache since 2026-01-02T00:00:00+00:00; "
        "password.reset needs fresh facts"
    )


def test_a_decision_on_stale_facts_says_so(gateway: Gateway, ask: Ask) -> None:
    moment = datetime(2026, 1, 2, tzinfo=UTC)
    pdp = PolicyDecisionPoint(
        lambda: gateway.policies.engine, stale_tolerant_actions=frozenset({"diagnostics.run"})
    )
    actor = gateway.directory.get_user("hank").model_copy(update={"stale_since": moment})

    decision = pdp.decide(ask("hank", "diagnostics.run", "host:pc1"), actor, None)

    assert decision.allowed
    assert decision.reasons[-1].effect == "note"
    assert decision.reasons[-1].message == (
        "decided on facts served from cache since 2026-01-02T00:00:00+00:00"
    )


def test_the_exact_parameters_bind_the_request_but_policies_do_not_see_them(
    gateway: Gateway, ask: Ask
) -> None:
    bare = gateway.authorize(ask("ivan", "access.grant", "account:alice", system="payroll"))
    bound = gateway.authorize(
        ask(
            "ivan",
            "access.grant",
            "account:alice",
            system="payroll",
            parameters={"user": "alice", "groups": ["payroll-users"]},
        )
    )

    assert bound.decision is bare.decision
    assert [r.policy for r in bound.reasons] == [r.policy for r in bare.reasons]
    assert bound.request.context["parameters"] == {"user": "alice", "groups": ["payroll-users"]}


def test_a_deny_for_stale_facts_says_they_could_not_be_read(gateway: Gateway, ask: Ask) -> None:
    request = ask("hank", "password.reset", "account:alice")

    refused = gateway.decision_point.refuse(request, "directory down", unavailable=True)
    plain = gateway.decision_point.refuse(request, "malformed")

    assert refused.unavailable is True
    assert refused.decision is Effect.DENY
    assert plain.unavailable is False
