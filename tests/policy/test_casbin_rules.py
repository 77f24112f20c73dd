"""The Casbin half of a bundle: the model and its rules, every problem located by file and line."""

from __future__ import annotations

from pathlib import Path

import casbin
import pytest

from gateway.errors import SourceProblem
from gateway.policy.casbin_rules import (
    CasbinRule,
    _line_from_casbin,
    load_casbin_model,
    parse_casbin_rules,
)

MODEL_PATH = Path("bundle/model.conf")
MODEL = """\
# RBAC with a second permission type.
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act
p2 = sub, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
"""


@pytest.fixture
def model() -> casbin.Model:
    loaded, problems = load_casbin_model(MODEL_PATH, MODEL)
    assert problems == []
    assert loaded is not None
    return loaded


def test_a_valid_model_is_loaded_without_problems(model: casbin.Model) -> None:
    assert sorted(model.model) == ["e", "g", "m", "p", "r"]
    assert sorted(model.model["p"]) == ["p", "p2"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "[request_definition]\nr = sub, obj, act\nsub obj act\n",
            3,
            "invalid model: parse the content error : line 3 , sub obj act = ?",
        ),
        (
            "# a comment\n; another\n\nrequest_definition\n",
            4,
            "invalid model: parse the content error : line 4 , request_definition = ?",
        ),
    ],
    ids=["a line without = is located", "comments and blank lines still count as lines"],
)
def test_a_model_that_does_not_parse_is_located_by_line(text: str, line: int, message: str) -> None:
    assert load_casbin_model(MODEL_PATH, text) == (
        None,
        [SourceProblem(str(MODEL_PATH), line, message)],
    )


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("", "r, p, e, m"),
        ("[request_definition]\nr = sub, obj, act\n[role_definition]\ng = _, _\n", "p, e, m"),
        (MODEL.replace("[matchers]\nm = ", "[matchers]\nmatch = "), "m"),
    ],
    ids=[
        "an empty model misses every section",
        "a model with requests and roles only misses the rest",
        "a misnamed matcher counts as missing",
    ],
)
def test_a_model_missing_sections_names_them(text: str, missing: str) -> None:
    assert load_casbin_model(MODEL_PATH, text) == (
        None,
        [SourceProblem(str(MODEL_PATH), 0, f"invalid model: missing sections {missing}")],
    )


@pytest.mark.parametrize(
    ("message", "line"),
    [
        ("key is empty", 0),
        ("see line of the matcher", 0),
        ("error at line 12: unexpected token", 12),
        ("unexpected end of model at line 7", 7),
    ],
    ids=[
        "a message without a line marker is not located",
        "a line marker without a number is not located",
        "a line marker with a number is located",
        "a line number ending the message is located",
    ],
)
def test_the_line_of_a_casbin_error_is_read_from_its_message(message: str, line: int) -> None:
    # pycasbin 2.8 always reports "line N"; other versions and errors may not.
    assert _line_from_casbin(message) == line


def test_rules_are_split_into_permissions_and_role_assignments(model: casbin.Model) -> None:
    permissions = Path("bundle/permissions.csv")
    roles = Path("bundle/nested/roles.csv")

    policies, groupings, problems = parse_casbin_rules(
        model,
        [
            (
                permissions,
                "# Permissions.\n"
                "p, role:helpdesk, account, password.reset\n"
                "\n"
                "   # indented comment\n"
                "p2,role:auditor,report.read\n"
                'p, "group:a,b", account, account.unlock\n',
            ),
            (roles, "   \ng, group:helpdesk, role:helpdesk\n"),
        ],
    )

    assert problems == []
    assert policies == [
        CasbinRule("p", ("role:helpdesk", "account", "password.reset"), str(permissions), 2),
        CasbinRule("p2", ("role:auditor", "report.read"), str(permissions), 5),
        CasbinRule("p", ("group:a,b", "account", "account.unlock"), str(permissions), 6),
    ]
    assert groupings == [CasbinRule("g", ("group:helpdesk", "role:helpdesk"), str(roles), 2)]
    assert str(policies[0]) == "p, role:helpdesk, account, password.reset"


def test_every_bad_rule_is_reported_with_file_and_line(model: casbin.Model) -> None:
    first = Path("bundle/a.csv")
    second = Path("bundle/b.csv")

    policies, groupings, problems = parse_casbin_rules(
        model,
        [
            (
                first,
                "p, role:helpdesk, account\n"
                "p, role:helpdesk, account, password.reset, extra\n"
                "p3, role:helpdesk, account, password.reset\n"
                "g2, alice, role:helpdesk\n",
            ),
            (
                second,
                "g, alice\np, role:helpdesk, , password.reset\nx, y\ng, alice, role:helpdesk\n",
            ),
        ],
    )

    assert problems == [
        SourceProblem(str(first), 1, "rule 'p' expects 3 values, found 2"),
        SourceProblem(str(first), 2, "rule 'p' expects 3 values, found 4"),
        SourceProblem(str(first), 3, "unknown rule type 'p3'"),
        SourceProblem(str(first), 4, "unknown rule type 'g2'"),
        SourceProblem(str(second), 1, "rule 'g' expects 2 values, found 1"),
        SourceProblem(str(second), 2, "empty value in rule"),
        SourceProblem(str(second), 3, "unknown rule type 'x'"),
    ]
    assert policies == []
    assert groupings == [CasbinRule("g", ("alice", "role:helpdesk"), str(second), 4)]


def test_role_assignments_need_a_role_definition() -> None:
    model, _ = load_casbin_model(MODEL_PATH, MODEL.replace("[role_definition]\ng = _, _\n", ""))
    assert model is not None

    _, groupings, problems = parse_casbin_rules(model, [(Path("r.csv"), "g, alice, admin\n")])

    assert groupings == []
    assert problems == [SourceProblem("r.csv", 1, "unknown rule type 'g'")]
