"""The Cedar half of a bundle: statements, @id, obligations and schema checks, by file and line."""

from __future__ import annotations

from pathlib import Path

import cedarpy
import pytest

from gateway.errors import SourceProblem
from gateway.policy.cedar_source import load_cedar_schema, parse_cedar_file, split_statements
from gateway.policy.decision import ApprovalObligation, StepUpObligation

POLICY_FILE = Path("bundle/cedar/support.cedar")
SCHEMA_FILE = Path("bundle/cedar/gateway.cedarschema")
SCHEMA = """\
entity Group;
entity User in [Group] { department: String };
entity Account { owner: User, privileged: Bool };
action "password.reset", "account.unlock" appliesTo { principal: User, resource: Account };
"""


@pytest.fixture(scope="module")
def schema() -> cedarpy.Schema:
    loaded, problems = load_cedar_schema(SCHEMA_FILE, SCHEMA)
    assert problems == []
    assert loaded is not None
    return loaded


# --- split_statements -------------------------------------------------------------------


def test_statements_are_split_at_top_level_semicolons_with_their_first_line() -> None:
    text = (
        "// Account support; the header comment is skipped.\n"
        "\n"
        '@id("one") permit (principal, action, resource);\n'
        '  @id("two")\n'
        "  forbid (principal, action, resource);"
    )

    assert split_statements(text) == [
        (3, '@id("one") permit (principal, action, resource);'),
        (4, '@id("two")\n  forbid (principal, action, resource);'),
    ]


def test_semicolons_escaped_quotes_and_newlines_inside_strings_are_string_content() -> None:
    text = (
        '@id("a") @message("say \\"no; thanks\\"") permit (principal, action, resource)\n'
        'when { principal.department == "R;D\n2" };\n'
        '@id("b") permit (principal, action, resource);\n'
    )

    assert split_statements(text) == [
        (
            1,
            '@id("a") @message("say \\"no; thanks\\"") permit (principal, action, resource)\n'
            'when { principal.department == "R;D\n2" };',
        ),
        (4, '@id("b") permit (principal, action, resource);'),
    ]


def test_comments_inside_a_statement_do_not_split_it() -> None:
    text = (
        '@id("a") permit (principal, action, resource) // allow; for now\n'
        "when { true }; // trailing; comment\n"
        "// closing comment without a newline; still a comment"
    )

    assert split_statements(text) == [
        (
            1,
            '@id("a") permit (principal, action, resource) // allow; for now\nwhen { true };',
        ),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '@id("a") permit (principal, action, resource);\n\n@id("b") permit (principal,\n',
            [
                (1, '@id("a") permit (principal, action, resource);'),
                (3, '@id("b") permit (principal,\n'),
            ],
        ),
        ('@id("a") @message("unclosed;\n', [(1, '@id("a") @message("unclosed;\n')]),
    ],
    ids=[
        "text after the last semicolon is an unterminated statement",
        "an unclosed string runs to the end of the text",
    ],
)
def test_an_unterminated_trailing_statement_is_returned(
    text: str, expected: list[tuple[int, str]]
) -> None:
    assert split_statements(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "  \n\t\n", "// only a comment; nothing else\n// and another"],
    ids=["empty text has no statement", "blank text has no statement", "comments are no statement"],
)
def test_text_without_policies_has_no_statements(text: str) -> None:
    assert split_statements(text) == []


# --- schema -----------------------------------------------------------------------------


def test_a_valid_schema_loads(schema: cedarpy.Schema) -> None:
    assert isinstance(schema, cedarpy.Schema)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "entity Group;\nentity User {\n  manager: Person,\n};\n",
            3,
            "schema: failed to resolve type: Person",
        ),
        (
            "entity Group;\nentity User {\n  tags: Set<Tag>,\n};\n",
            3,
            "schema: failed to resolve type: Tag",
        ),
        ("entity User {\n", 0, "schema: error parsing schema: unexpected end of input"),
    ],
    ids=[
        "an unresolved type is located on the line that uses it",
        "a type inside a set is located on the line that uses it",
        "a schema that does not parse is not located",
    ],
)
def test_schema_errors_name_the_file_and_the_line_when_known(
    text: str, line: int, message: str
) -> None:
    assert load_cedar_schema(SCHEMA_FILE, text) == (
        None,
        [SourceProblem(str(SCHEMA_FILE), line, message)],
    )


def test_several_unresolved_types_are_all_named_at_the_first_use() -> None:
    schema, problems = load_cedar_schema(
        SCHEMA_FILE, "entity User { a: Alpha };\nentity Team { b: Beta };\n"
    )

    assert schema is None
    (problem,) = problems
    assert (problem.file, problem.line) == (str(SCHEMA_FILE), 1)
    prefix = "schema: failed to resolve types: "
    assert problem.message.startswith(prefix)
    assert sorted(problem.message.removeprefix(prefix).split(", ")) == ["Alpha", "Beta"]


def test_an_unresolved_parent_type_is_located() -> None:
    _, problems = load_cedar_schema(SCHEMA_FILE, "entity Team;\nentity User in [Group];\n")

    assert problems == [
        SourceProblem(str(SCHEMA_FILE), 2, "schema: failed to resolve type: Group"),
    ]


# --- parse_cedar_file -------------------------------------------------------------------


def test_valid_policies_are_returned_with_their_location_and_scope(
    schema: cedarpy.Schema,
) -> None:
    text = (
        "// Password resets.\n"
        '@id("reset-own")\n'
        '@message("you may reset your own password")\n'
        '@step_up("max_age=5m")\n'
        'permit (principal, action == Action::"password.reset", resource)\n'
        "when { resource.owner == principal };\n"
        "\n"
        '@id("no-privileged")\n'
        '@description("privileged accounts are out of reach")\n'
        'forbid (principal, action in [Action::"password.reset", Action::"account.unlock"],'
        " resource)\n"
        "when { resource.privileged };\n"
        '@id("any") @approval("approvers=manager") permit (principal, action, resource);\n'
    )

    policies, problems = parse_cedar_file(POLICY_FILE, text, schema)

    assert problems == []
    assert [
        (policy.id, policy.effect, policy.location, policy.actions, policy.message)
        for policy in policies
    ] == [
        (
            "reset-own",
            "permit",
            f"{POLICY_FILE}:2",
            frozenset({"password.reset"}),
            "you may reset your own password",
        ),
        (
            "no-privileged",
            "forbid",
            f"{POLICY_FILE}:8",
            None,
            "privileged accounts are out of reach",
        ),
        ("any", "permit", f"{POLICY_FILE}:12", None, "any"),
    ]
    assert policies[0].obligations == (StepUpObligation(max_age_seconds=300, policy="reset-own"),)
    assert policies[2].obligations == (
        ApprovalObligation(name="approval", approvers=("manager",), policy="any"),
    )
    assert policies[0].text.startswith('@id("reset-own")')
    assert policies[0].est["effect"] == "permit"
    assert policies[1].file == str(POLICY_FILE)
    assert policies[1].line == 8


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("permit (principal, action, resource);", 'policy has no @id("...") annotation'),
        ('@id("") permit (principal, action, resource);', 'policy has no @id("...") annotation'),
        (
            '@id("tpl") permit (principal == ?principal, action, resource);',
            "policy templates (?principal, ?resource) are not supported",
        ),
        (
            '@id("f") @step_up("max_age=5m") forbid (principal, action, resource);',
            "policy f: obligations belong on permit policies, not forbid",
        ),
        (
            '@id("g") @approval_it("approvers=nobody") permit (principal, action, resource);',
            "policy g: @approval_it: approvers entries must be manager, role:NAME, group:NAME "
            "or user:ID, found 'nobody'",
        ),
        (
            '@id("h") @step_up("max_age=forever") permit (principal, action, resource);',
            "policy h: @step_up: max_age must be a positive duration like 300, 5m, 4h or 2d, "
            "found 'forever'",
        ),
        ("permit here;", "policy does not parse: unexpected token `here`"),
        (
            '@id("u") permit (principal, action, resource)',
            "policy does not parse: unexpected end of input",
        ),
    ],
    ids=[
        "a policy without @id is refused",
        "a policy with an empty @id is refused",
        "a template is refused",
        "obligations on a forbid are refused",
        "a malformed approval annotation is refused with the policy id",
        "a malformed step-up annotation is refused with the policy id",
        "a statement that is not Cedar is refused",
        "an unterminated last policy is refused",
    ],
)
def test_a_refused_policy_is_reported_at_its_first_line(
    schema: cedarpy.Schema, statement: str, message: str
) -> None:
    text = f'@id("ok") permit (principal, action, resource);\n\n// Next.\n{statement}\n'

    policies, problems = parse_cedar_file(POLICY_FILE, text, schema)

    assert [policy.id for policy in policies] == ["ok"]
    assert problems == [SourceProblem(str(POLICY_FILE), 4, message)]


def test_schema_violations_are_reported_at_the_policy_start_line(schema: cedarpy.Schema) -> None:
    text = (
        '@id("fine") permit (principal, action, resource);\n'
        "\n"
        '@id("typo")\n'
        'permit (principal, action == Action::"password.reset", resource)\n'
        "when { resource.ownr == principal };\n"
    )

    policies, problems = parse_cedar_file(POLICY_FILE, text, schema)

    assert [policy.id for policy in policies] == ["fine", "typo"]
    assert len(problems) == 1
    assert (problems[0].file, problems[0].line) == (str(POLICY_FILE), 3)
    assert problems[0].message.startswith("policy typo: ")
    assert "attribute `ownr` on entity type `Account` not found" in problems[0].message
    assert "policy0" not in problems[0].message, "Cedar's positional id is replaced by the @id"
    assert "`typo`" in problems[0].message


def test_without_a_schema_policies_are_not_validated() -> None:
    text = '@id("typo") permit (principal, action, resource) when { resource.ownr == 1 };'

    policies, problems = parse_cedar_file(POLICY_FILE, text, None)

    assert [policy.id for policy in policies] == ["typo"]
    assert problems == []


def test_an_obligation_annotation_without_a_value_is_refused(schema: cedarpy.Schema) -> None:
    text = '@id("bare") @approval permit (principal, action, resource);'

    _, problems = parse_cedar_file(POLICY_FILE, text, schema)

    assert problems == [
        SourceProblem(str(POLICY_FILE), 1, "policy bare: @approval: approvers is required")
    ]


def test_a_backslash_before_a_newline_in_a_string_still_counts_the_line() -> None:
    text = (
        '@id("a") @description("one\\\ntwo") permit (principal, action, resource);\n'
        '@id("b") forbid (principal, action, resource);'
    )

    assert [line for line, _ in split_statements(text)] == [1, 3]


def test_a_type_named_in_a_comment_is_not_where_the_error_is() -> None:
    text = "// a Person is a User\nentity User {\n  boss: Person,\n};\n"

    _, problems = load_cedar_schema(SCHEMA_FILE, text)

    assert problems == [
        SourceProblem(str(SCHEMA_FILE), 3, "schema: failed to resolve type: Person")
    ]


def test_a_type_split_over_lines_is_named_without_a_line() -> None:
    _, problems = load_cedar_schema(SCHEMA_FILE, "entity User { a: NS::\nMissing };\n")

    assert problems == [
        SourceProblem(str(SCHEMA_FILE), 0, "schema: failed to resolve type: NS::Missing")
    ]
