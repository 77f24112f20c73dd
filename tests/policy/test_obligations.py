"""The @step_up and @approval annotation grammar, and how obligations of permits combine."""

from __future__ import annotations

import pytest

from gateway.policy.decision import ApprovalObligation, StepUpObligation
from gateway.policy.obligations import ObligationSyntaxError, merge_obligations, parse_obligations


def approval(policy: str = "p", name: str = "approval", **fields: object) -> ApprovalObligation:
    return ApprovalObligation.model_validate(
        {"name": name, "approvers": ("manager",), "policy": policy, **fields}
    )


def test_annotations_without_obligations_declare_none() -> None:
    annotations = {"id": "p", "description": "no obligations", "approvals": "x", "stepup": "y"}

    assert parse_obligations("p", annotations) == ()


@pytest.mark.parametrize(
    ("value", "max_age"),
    [
        ("", 300),
        ("max_age=45", 45),
        ("max_age=45s", 45),
        ("max_age=5m", 300),
        ("max_age=2h", 7200),
        ("max_age=1d", 86_400),
        (" max_age = 10m ; method = totp ; ", 600),
    ],
    ids=[
        "no value means five minutes",
        "a bare number is seconds",
        "s is seconds",
        "m is minutes",
        "h is hours",
        "d is days",
        "spaces and a trailing separator are allowed",
    ],
)
def test_step_up_declares_a_maximum_age(value: str, max_age: int) -> None:
    assert parse_obligations("reset", {"step_up": value}) == (
        StepUpObligation(max_age_seconds=max_age, policy="reset"),
    )


@pytest.mark.parametrize(
    ("value", "reuse"),
    [("max_age=5m", "once"), ("max_age=5m; reuse=once", "once"), ("reuse=window", "window")],
    ids=[
        "a step-up is used once by default",
        "used once when the policy says so",
        "reused within its window only when the policy says so",
    ],
)
def test_step_up_declares_whether_it_is_used_once(value: str, reuse: str) -> None:
    (obligation,) = parse_obligations("reset", {"step_up": value})

    assert isinstance(obligation, StepUpObligation)
    assert obligation.reuse == reuse


def test_a_full_approval_is_parsed() -> None:
    value = (
        "approvers=group:security, user:grace.h@example.com; quorum=2; expires=4h; "
        "escalate_after=1h; escalate_to=role:security-lead"
    )

    assert parse_obligations("grant", {"approval_security": value}) == (
        ApprovalObligation(
            name="approval_security",
            approvers=("group:security", "user:grace.h@example.com"),
            quorum=2,
            expires_seconds=14_400,
            escalate_after_seconds=3600,
            escalate_to=("role:security-lead",),
            policy="grant",
        ),
    )


def test_an_approval_has_defaults_for_quorum_expiry_and_escalation() -> None:
    assert parse_obligations("grant", {"approval": "approvers=manager"}) == (
        ApprovalObligation(
            name="approval",
            approvers=("manager",),
            quorum=1,
            expires_seconds=86_400,
            escalate_after_seconds=None,
            escalate_to=(),
            policy="grant",
        ),
    )


def test_obligations_are_returned_in_annotation_order() -> None:
    annotations = {
        "approval_security": "approvers=group:security",
        "id": "grant",
        "step_up": "max_age=1m",
        "approval": "approvers=manager",
    }

    assert [
        getattr(item, "name", item.type) for item in parse_obligations("grant", annotations)
    ] == ["approval_security", "step_up", "approval"]


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ({"step_up": "max_age"}, "@step_up: expected key=value, found 'max_age'"),
        (
            {"step_up": "maxage=5m"},
            "@step_up: unknown key 'maxage' (expected max_age, method, reuse)",
        ),
        ({"step_up": "max_age=5m; max_age=1m"}, "@step_up: key 'max_age' given twice"),
        ({"step_up": "method=sms"}, "@step_up: method must be totp, found 'sms'"),
        ({"step_up": "reuse=always"}, "@step_up: reuse must be once or window, found 'always'"),
        (
            {"step_up": "max_age=5 minutes"},
            "@step_up: max_age must be a positive duration like 300, 5m, 4h or 2d, "
            "found '5 minutes'",
        ),
        (
            {"step_up": "max_age=0m"},
            "@step_up: max_age must be a positive duration like 300, 5m, 4h or 2d, found '0m'",
        ),
        (
            {"step_up": "max_age=-5"},
            "@step_up: max_age must be a positive duration like 300, 5m, 4h or 2d, found '-5'",
        ),
        (
            {"step_up": "max_age="},
            "@step_up: max_age must be a positive duration like 300, 5m, 4h or 2d, found ''",
        ),
        (
            {"approval_it": "approver=manager"},
            "@approval_it: unknown key 'approver' "
            "(expected approvers, escalate_after, escalate_to, expires, quorum)",
        ),
        ({"approval": "quorum=2"}, "@approval: approvers is required"),
        ({"approval": "approvers= , ,"}, "@approval: approvers is empty"),
        (
            {"approval": "approvers=managers"},
            "@approval: approvers entries must be manager, role:NAME, group:NAME or user:ID, "
            "found 'managers'",
        ),
        (
            {"approval": "approvers=group:"},
            "@approval: approvers entries must be manager, role:NAME, group:NAME or user:ID, "
            "found 'group:'",
        ),
        (
            {"approval": "approvers=manager; quorum=two"},
            "@approval: quorum must be a whole number >= 1, found 'two'",
        ),
        (
            {"approval": "approvers=manager; quorum=0"},
            "@approval: quorum must be a whole number >= 1, found '0'",
        ),
        (
            {"approval": "approvers=manager; quorum=-1"},
            "@approval: quorum must be a whole number >= 1, found '-1'",
        ),
        (
            {"approval": "approvers=manager; expires=1w"},
            "@approval: expires must be a positive duration like 300, 5m, 4h or 2d, found '1w'",
        ),
        (
            {"approval": "approvers=manager; escalate_after=1h"},
            "@approval: escalate_after and escalate_to go together",
        ),
        (
            {"approval": "approvers=manager; escalate_to=group:leads"},
            "@approval: escalate_after and escalate_to go together",
        ),
        (
            {"approval": "approvers=manager; escalate_after=1h; escalate_to=leads"},
            "@approval: escalate_to entries must be manager, role:NAME, group:NAME or user:ID, "
            "found 'leads'",
        ),
        (
            {"approval": "approvers=manager; escalate_after=soon; escalate_to=group:leads"},
            "@approval: escalate_after must be a positive duration like 300, 5m, 4h or 2d, "
            "found 'soon'",
        ),
    ],
    ids=[
        "a pair without = is refused",
        "an unknown step-up key is refused with the keys expected",
        "a key given twice is refused",
        "a step-up method other than totp is refused",
        "a step-up reuse other than once or window is refused",
        "a duration in words is refused",
        "a zero duration is refused",
        "a negative duration is refused",
        "an empty duration is refused",
        "an unknown approval key is refused with the keys expected",
        "an approval without approvers is refused",
        "an approval with an empty approver list is refused",
        "an approver that is not manager or KIND:NAME is refused",
        "an approver kind without a name is refused",
        "a quorum in words is refused",
        "a quorum of zero is refused",
        "a negative quorum is refused",
        "an unknown duration unit is refused",
        "escalate_after without escalate_to is refused",
        "escalate_to without escalate_after is refused",
        "an invalid escalation target is refused",
        "an invalid escalation delay is refused",
    ],
)
def test_a_malformed_annotation_is_refused_with_a_message(
    annotations: dict[str, str], message: str
) -> None:
    with pytest.raises(ObligationSyntaxError) as caught:
        parse_obligations("p", annotations)

    assert str(caught.value) == message


def test_an_empty_escalation_delay_is_refused() -> None:
    with pytest.raises(ObligationSyntaxError, match="escalate_after must be a positive duration"):
        parse_obligations(
            "p", {"approval": "approvers=manager; escalate_after=; escalate_to=user:x"}
        )


def test_a_quorum_in_superscript_digits_is_refused() -> None:
    with pytest.raises(ObligationSyntaxError, match="quorum must be a whole number"):
        parse_obligations("p", {"approval": "approvers=manager; quorum=²"})


def test_merging_nothing_gives_nothing() -> None:
    assert merge_obligations([]) == ()


def test_step_ups_merge_into_the_shortest_maximum_age() -> None:
    merged = merge_obligations(
        [
            StepUpObligation(max_age_seconds=600, policy="a"),
            StepUpObligation(max_age_seconds=60, policy="c"),
            StepUpObligation(max_age_seconds=60, policy="b"),
            StepUpObligation(max_age_seconds=300, policy="d"),
        ]
    )

    assert merged == (StepUpObligation(max_age_seconds=60, policy="b"),)


def test_merged_step_ups_are_used_once_unless_every_policy_allows_a_window() -> None:
    window = StepUpObligation(max_age_seconds=60, reuse="window", policy="a")
    once = StepUpObligation(max_age_seconds=600, policy="b")
    other_window = StepUpObligation(max_age_seconds=600, reuse="window", policy="c")

    assert merge_obligations([window, once]) == (
        StepUpObligation(max_age_seconds=60, reuse="once", policy="a"),
    )
    assert merge_obligations([window, other_window]) == (window,)


def test_approvals_are_all_kept_after_the_step_up_with_duplicates_removed() -> None:
    manager = approval(policy="reset-manager")
    same_from_another_policy = approval(policy="reset-other", name="approval_again")
    security = approval(policy="reset-security", approvers=("group:security",), quorum=2)
    longer = approval(policy="reset-long", expires_seconds=3600)
    escalating = approval(
        policy="reset-escalate", escalate_after_seconds=600, escalate_to=("group:leads",)
    )
    step_up = StepUpObligation(max_age_seconds=120, policy="reset-step-up")

    merged = merge_obligations(
        [manager, security, same_from_another_policy, step_up, longer, escalating]
    )

    assert merged == (step_up, manager, security, longer, escalating)


def test_approvals_that_escalate_at_different_times_are_both_kept() -> None:
    soon = approval(escalate_after_seconds=600, escalate_to=("group:leads",), policy="a")
    later = approval(escalate_after_seconds=7200, escalate_to=("group:leads",), policy="b")

    assert merge_obligations([later, soon]) == (later, soon)
