"""Typed parameters: every problem names the parameter and what it accepts; no secret is
ever echoed back."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from gateway.runtime.errors import ParameterError
from gateway.runtime.parameters import ParameterSet, ParameterSpec

SPECS = ParameterSet(
    "workflow sample",
    {
        "user": ParameterSpec(pattern=r"[a-z]{2,8}", max_length=8),
        "hours": ParameterSpec(type="integer", minimum=1, maximum=72, required=False),
        "notify": ParameterSpec(type="boolean", default=True),
        "priority": ParameterSpec(type="integer", enum=[1, 2, 3], default=3),
        "channel": ParameterSpec(enum=["email", "chat"], default="chat"),
        "note": ParameterSpec(min_length=2, max_length=5, required=False),
        "pin": ParameterSpec(pattern=r"[0-9]{4}", secret=True, required=False),
    },
)


def problem(given: dict[str, object]) -> dict[str, str]:
    with pytest.raises(ParameterError) as caught:
        SPECS.validate(given)
    return caught.value.problems


def test_valid_values_come_back_checked_with_defaults_and_secrets_apart() -> None:
    plain, secrets = SPECS.validate({"user": "tom", "hours": 4, "pin": "1234", "note": None})

    assert plain == {"user": "tom", "hours": 4, "notify": True, "priority": 3, "channel": "chat"}
    assert secrets == {"pin": SecretStr("1234")}
    assert SPECS.secret_names == frozenset({"pin"})


@pytest.mark.parametrize(
    ("given", "coerced"),
    [
        pytest.param({"hours": " 12 "}, {"hours": 12}, id="an integer from a command line"),
        pytest.param({"notify": "no"}, {"notify": False}, id="no is false"),
        pytest.param({"notify": "ON"}, {"notify": True}, id="on is true"),
        pytest.param({"priority": "2"}, {"priority": 2}, id="an integer from a list of choices"),
    ],
)
def test_strings_from_a_command_line_become_the_declared_type(
    given: dict[str, object], coerced: dict[str, object]
) -> None:
    plain, _ = SPECS.validate({"user": "tom", **given})

    assert {name: plain[name] for name in coerced} == coerced


@pytest.mark.parametrize(
    ("given", "name", "why"),
    [
        pytest.param(
            {"user": None}, "user", "required (string, matching [a-z]{2,8})", id="a missing value"
        ),
        pytest.param(
            {"user": "Tom!"}, "user", "must match [a-z]{2,8}, found 'Tom!'", id="a wrong pattern"
        ),
        pytest.param(
            {"user": "abcdefghi"},
            "user",
            "must be 0 to 8 characters, found 9",
            id="a value that is too long",
        ),
        pytest.param({"user": "to\tm"}, "user", "must not contain control characters", id="a tab"),
        pytest.param({"user": 7}, "user", "expected text, found 7", id="a number for text"),
        pytest.param(
            {"hours": "soon"},
            "hours",
            "expected an integer, found 'soon'",
            id="a word for an integer",
        ),
        pytest.param(
            {"hours": True}, "hours", "expected an integer, found True", id="a boolean for hours"
        ),
        pytest.param({"hours": 0}, "hours", "must be at least 1, found 0", id="too few hours"),
        pytest.param({"hours": 100}, "hours", "must be at most 72, found 100", id="too many hours"),
        pytest.param(
            {"notify": "maybe"},
            "notify",
            "expected true or false, found 'maybe'",
            id="a word that is neither true nor false",
        ),
        pytest.param(
            {"channel": "fax"},
            "channel",
            "must be one of email, chat, found 'fax'",
            id="a choice that is not offered",
        ),
        pytest.param(
            {"priority": 9},
            "priority",
            "must be one of 1, 2, 3, found 9",
            id="a number not offered",
        ),
        pytest.param(
            {"colour": "red"},
            "colour",
            "not a parameter of workflow sample "
            "(known: channel, hours, note, notify, pin, priority, user)",
            id="an unknown parameter",
        ),
    ],
)
def test_each_problem_names_the_parameter_and_what_is_allowed(
    given: dict[str, object], name: str, why: str
) -> None:
    found = problem({"user": "tom", **given})

    assert found[name] == why


def test_every_problem_is_reported_at_once_in_one_message() -> None:
    with pytest.raises(ParameterError) as caught:
        SPECS.validate({"hours": 0, "colour": "red"})

    assert str(caught.value) == (
        "invalid parameters for workflow sample: colour: not a parameter of workflow sample "
        "(known: channel, hours, note, notify, pin, priority, user); "
        "hours: must be at least 1, found 0; user: required (string, matching [a-z]{2,8})"
    )


@pytest.mark.parametrize(
    "pin",
    [
        pytest.param("12345678", id="a secret of the wrong shape"),
        pytest.param(SecretStr("abcd"), id="a secret given as a secret"),
        pytest.param(1234, id="a secret given as a number"),
        pytest.param("1", id="a secret that is too short for its pattern"),
    ],
)
def test_a_secret_value_is_never_echoed(pin: object) -> None:
    with pytest.raises(ParameterError) as caught:
        SPECS.validate({"user": "tom", "pin": pin})

    message = str(caught.value)
    assert "pin: " in message
    for shown in ("12345678", "abcd", "1234", "'1'"):
        assert shown not in message


def test_a_secret_given_as_a_secret_is_accepted() -> None:
    _, secrets = SPECS.validate({"user": "tom", "pin": SecretStr("4321")})

    assert secrets["pin"].get_secret_value() == "4321"


def test_a_long_unknown_name_is_cut_short() -> None:
    found = problem({"user": "tom", "x" * 100: 1})

    assert list(found) == ["x" * 64]


def test_a_set_with_no_parameters_says_so() -> None:
    with pytest.raises(ParameterError, match=r"known: none"):
        ParameterSet("action noop", {}).validate({"x": 1})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param({"pattern": "("}, "pattern does not compile", id="a broken pattern"),
        pytest.param(
            {"type": "integer", "pattern": "x"},
            "pattern and secret apply to string parameters only",
            id="a pattern on an integer",
        ),
        pytest.param(
            {"type": "boolean", "secret": True},
            "pattern and secret apply to string parameters only",
            id="a secret boolean",
        ),
        pytest.param(
            {"minimum": 1},
            "minimum and maximum apply to integer parameters only",
            id="a minimum on text",
        ),
        pytest.param(
            {"type": "integer", "maximum": 3, "default": 5},
            "default: must be at most 3, found 5",
            id="a default that breaks its own rule",
        ),
    ],
)
def test_a_declaration_that_contradicts_itself_is_refused(
    spec: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        ParameterSpec.model_validate(spec)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        pytest.param(ParameterSpec(), "string", id="plain text"),
        pytest.param(
            ParameterSpec(type="integer", minimum=1, maximum=9),
            "integer, >= 1, <= 9",
            id="a bounded integer",
        ),
        pytest.param(
            ParameterSpec(enum=["a", "b"], pattern="[ab]"),
            "string, one of a, b, matching [ab]",
            id="choices and a pattern",
        ),
    ],
)
def test_what_a_parameter_accepts_is_said_in_words(spec: ParameterSpec, words: str) -> None:
    assert spec.allowed() == words


def test_a_parameter_with_a_default_is_optional_unless_it_says_otherwise() -> None:
    assert not ParameterSpec(default="x").is_required
    assert ParameterSpec(default="x", required=True).is_required
    assert ParameterSpec().is_required
    assert not ParameterSpec(required=False).is_required
