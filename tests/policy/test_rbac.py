"""Role checks: the compiled index answers exactly as pycasbin's enforcer does."""

from __future__ import annotations

from pathlib import Path

import casbin
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy.bundle import load_bundle
from gateway.policy.casbin_rules import CasbinRule, CasbinRules
from gateway.policy.rbac import (
    STANDARD_MODEL,
    CompiledRbac,
    EnforcerRbac,
    build_rbac,
    is_standard_model,
)

SUBJECTS = ["user:a", "user:b", "group:x", "group:y", "group:z", "role:r1", "role:r2", "role:r3"]
OBJECTS = ["account", "host", "*"]
ACTIONS = ["reset", "unlock", "*"]


def rules_from(
    policies: list[tuple[str, str, str]], groupings: list[tuple[str, str]]
) -> CasbinRules:
    model = casbin.Model()
    model.load_model_from_text(STANDARD_MODEL)
    return CasbinRules(
        model_text=STANDARD_MODEL,
        model=model,
        policies=tuple(CasbinRule("p", p, "perm.csv", n) for n, p in enumerate(policies, 1)),
        groupings=tuple(CasbinRule("g", g, "roles.csv", n) for n, g in enumerate(groupings, 1)),
    )


def naive_enforcer(rules: CasbinRules, actor: str, groups: list[str]) -> casbin.Enforcer:
    """What a plain pycasbin user would do: the actor's groups as role links."""
    model = casbin.Model()
    model.load_model_from_text(STANDARD_MODEL)
    enforcer = casbin.Enforcer(model)
    for rule in rules.policies:
        enforcer.add_policy(*rule.values)
    for rule in rules.groupings:
        enforcer.add_grouping_policy(*rule.values)
    for group in groups:
        enforcer.add_grouping_policy(actor, group)
    return enforcer


@settings(max_examples=150, deadline=None)
@given(
    policies=st.lists(
        st.tuples(st.sampled_from(SUBJECTS), st.sampled_from(OBJECTS), st.sampled_from(ACTIONS)),
        max_size=12,
    ),
    groupings=st.lists(
        st.tuples(st.sampled_from(SUBJECTS), st.sampled_from(SUBJECTS[3:])), max_size=10
    ),
    groups=st.lists(st.sampled_from(["group:x", "group:y", "group:z"]), unique=True),
    obj=st.sampled_from(["account", "host"]),
    act=st.sampled_from(["reset", "unlock"]),
)
def test_compiled_checks_decide_and_explain_exactly_as_pycasbin(
    policies: list[tuple[str, str, str]],
    groupings: list[tuple[str, str]],
    groups: list[str],
    obj: str,
    act: str,
) -> None:
    rules = rules_from(policies, groupings)
    subjects = ["user:actor", *groups]

    compiled = CompiledRbac(rules).check(subjects, obj, act)
    enforced = EnforcerRbac(rules).check(subjects, obj, act)
    naive_allowed, naive_rule = naive_enforcer(rules, "user:actor", groups).enforce_ex(
        "user:actor", obj, act
    )

    assert compiled.allowed == enforced.allowed == naive_allowed
    assert compiled.rule == enforced.rule
    if compiled.rule is not None:
        assert list(compiled.rule.values) == naive_rule
    if not compiled.allowed:
        assert compiled.roles == enforced.roles


def test_the_shipped_model_is_recognised_as_standard() -> None:
    bundle = load_bundle(Path(__file__).resolve().parents[2] / "policies")

    assert is_standard_model(bundle.casbin.model)
    assert isinstance(build_rbac(bundle.casbin), CompiledRbac)
    assert isinstance(build_rbac(bundle.casbin, compiled=False), EnforcerRbac)


def test_any_other_model_is_answered_by_the_enforcer() -> None:
    text = STANDARD_MODEL.replace('(p.obj == "*" || r.obj == p.obj)', "keyMatch(r.obj, p.obj)")
    model = casbin.Model()
    model.load_model_from_text(text)
    rules = CasbinRules(
        text,
        model,
        (CasbinRule("p", ("role:ops", "host/*", "ping"), "p.csv", 1),),
        (CasbinRule("g", ("group:noc", "role:ops"), "g.csv", 1),),
    )

    rbac = build_rbac(rules)

    assert isinstance(rbac, EnforcerRbac)
    assert rbac.check(["user:n", "group:noc"], "host/web1", "ping").allowed
    denied = rbac.check(["user:n", "group:noc"], "host/web1", "reboot")
    assert (denied.allowed, denied.roles, denied.granting_roles) == (False, ("role:ops",), ())
    assert rbac.granting_groups("role:ops") == ()


def test_a_deny_lists_the_roles_held_and_the_roles_that_would_grant() -> None:
    rules = rules_from(
        [("role:helpdesk", "account", "reset"), ("role:admin", "*", "*")],
        [("group:hd", "role:helpdesk"), ("group:admins", "role:admin"), ("group:x", "role:r1")],
    )
    rbac = CompiledRbac(rules)

    result = rbac.check(["user:a", "group:x"], "account", "reset")

    assert not result.allowed
    assert result.roles == ("role:r1",)
    assert result.granting_roles == ("role:helpdesk", "role:admin")
    assert rbac.granting_groups("role:helpdesk") == ("group:hd",)


def test_the_first_rule_in_file_order_explains_an_allow() -> None:
    rules = rules_from(
        [("role:admin", "*", "*"), ("role:helpdesk", "account", "reset")],
        [("group:hd", "role:helpdesk"), ("group:hd", "role:admin")],
    )

    result = CompiledRbac(rules).check(["user:a", "group:hd"], "account", "reset")

    assert result.rule is not None
    assert result.rule.values == ("role:admin", "*", "*")
    assert str(result.rule) == "p, role:admin, *, *"


def test_two_subjects_matching_the_same_rule_give_that_rule() -> None:
    rules = rules_from(
        [("role:r1", "account", "reset")], [("group:x", "role:r1"), ("user:a", "role:r1")]
    )

    result = EnforcerRbac(rules).check(["user:a", "group:x"], "account", "reset")

    assert result.rule == rules.policies[0]
