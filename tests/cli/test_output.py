"""One ``--json`` option and one ``emit`` for every command: what a script reading the
output can count on, errors included."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from gateway.cli import _Gateway, cli
from gateway.cli.output import JSON_HELP, JsonOption, emit, json_option, render_json, to_json
from gateway.enforcement import PolicyDeniedError
from gateway.errors import ExitCode, RequestError

REPO = Path(__file__).resolve().parents[2]

# Commands without --json, each with the reason; a new one fails the test.
NO_JSON = {
    "gateway serve": "serves until interrupted",
    "gateway tree run": "interactive: asks each question at the terminal",
    "gateway audit checkpoint": "prints a C2SP signed note, itself the machine format",
    "gateway kb summarize": "prints a Markdown document, itself the output",
}


def every_command() -> Iterator[tuple[str, click.Command]]:
    def walk(command: click.Command, path: list[str]) -> Iterator[tuple[str, click.Command]]:
        if isinstance(command, click.Group):
            context = click.Context(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), command

    yield from walk(cli, ["gateway"])


COMMANDS = dict(every_command())


def json_options(command: click.Command) -> list[click.Parameter]:
    return [p for p in command.params if "--json" in getattr(p, "opts", ())]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- the one option --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_json_flag_is_the_shared_option(name: str) -> None:
    found = json_options(COMMANDS[name])

    assert len(found) <= 1
    for option in found:
        assert isinstance(option, JsonOption), f"{name} declares its own --json: use json_option"
        assert (option.name, option.help) == ("as_json", JSON_HELP)


def test_every_command_that_prints_data_has_json_or_a_reason_not_to() -> None:
    without = {name for name, command in COMMANDS.items() if not json_options(command)}

    assert without == set(NO_JSON)


def test_json_option_passes_the_flag_as_as_json() -> None:
    @click.command()
    @json_option
    def show(as_json: bool) -> None:
        emit({"as_json": as_json}, as_json, human=lambda value: click.echo(f"human {value}"))

    runner = CliRunner()
    assert runner.invoke(show, ["--json"]).stdout == '{\n  "as_json": true\n}\n'
    assert runner.invoke(show, []).stdout == "human {'as_json': False}\n"


# -- emit's formats --------------------------------------------------------------------


class Colour(StrEnum):
    RED = "red"


class Model(BaseModel):
    name: str
    at: datetime
    colour: Colour


@dataclass(frozen=True)
class Point:
    y: int
    x: int


class Described:
    def as_json(self) -> dict[str, object]:
        return {"kind": "described", "tags": frozenset({"b", "a"})}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Model(name="x", at=datetime(2026, 1, 2, tzinfo=UTC), colour=Colour.RED),
         {"name": "x", "at": "2026-01-02T00:00:00Z", "colour": "red"}),
        (Point(y=2, x=1), {"y": 2, "x": 1}),
        (Described(), {"kind": "described", "tags": ["a", "b"]}),
        ({"z": (1, 2), "a": {3, 1, 2}}, {"z": [1, 2], "a": [1, 2, 3]}),
        ([Point(y=1, x=0), None, 1.5, True], [{"y": 1, "x": 0}, None, 1.5, True]),
        ({"path": Path("var/audit.log"), "colour": Colour.RED},
         {"path": "var/audit.log", "colour": "red"}),
        ({"nan": float("nan"), "inf": float("inf")}, {"nan": None, "inf": None}),
    ],
    ids=[
        "a pydantic model as its JSON dump",
        "a dataclass as its fields",
        "an object with as_json as what it returns",
        "tuples as lists and sets sorted",
        "lists of anything",
        "paths and enums as strings",
        "non-finite floats as null, never NaN",
    ],
)  # fmt: skip
def test_emit_prints_values_as_plain_json(value: object, expected: object) -> None:
    assert to_json(value) == expected
    assert json.loads(render_json(value)) == expected


def test_keys_keep_the_values_own_order_and_text_stays_readable() -> None:
    value = {"zeta": 1, "alpha": Point(y=2, x=1), "name": "Zoë"}

    assert render_json(value) == (
        '{\n  "zeta": 1,\n  "alpha": {\n    "y": 2,\n    "x": 1\n  },\n  "name": "Zoë"\n}'
    )


def test_one_call_prints_one_newline_terminated_document() -> None:
    @click.command()
    def show() -> None:
        emit([1, 2], True, human=print)
        emit({"a": None}, True, human=print)

    out = CliRunner().invoke(show, []).stdout

    assert out == "[\n  1,\n  2\n]\n" + '{\n  "a": null\n}\n'


def test_a_value_json_cannot_hold_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="cannot print a object as JSON"):
        to_json(object())


# -- errors with --json ----------------------------------------------------------------


def group_raising(error: Exception, *, print_first: bool = False) -> click.Group:
    @click.group(cls=_Gateway)
    def root() -> None:
        pass

    @root.command()
    @json_option
    def fail(as_json: bool) -> None:
        if print_first:
            emit({"done": 1}, as_json, human=print)
        raise error

    return root


def test_an_error_with_json_is_a_json_document_on_standard_output() -> None:
    denied = PolicyDeniedError("kb.publish", "article:x", ("not an editor",), "d-1")

    result = CliRunner().invoke(group_raising(denied), ["fail", "--json"])

    assert result.exit_code == ExitCode.DENIED
    assert json.loads(result.stdout) == {
        "error": {
            "kind": "denied",
            "exit_code": 3,
            "type": "PolicyDeniedError",
            "message": "kb.publish on article:x denied: not an editor",
            "reasons": ["not an editor"],
            "decision_id": "d-1",
        }
    }
    assert result.stderr == "error: kb.publish on article:x denied: not an editor\n"


def test_an_error_without_json_is_text_on_standard_error_only() -> None:
    result = CliRunner().invoke(group_raising(RequestError("bad --x")), ["fail"])

    assert (result.exit_code, result.stdout) == (ExitCode.INVALID_INPUT, "")
    assert result.stderr == "error: bad --x\n"


def test_an_error_after_a_printed_document_adds_no_second_document() -> None:
    result = CliRunner().invoke(
        group_raising(RequestError("late"), print_first=True), ["fail", "--json"]
    )

    assert result.exit_code == ExitCode.INVALID_INPUT
    assert json.loads(result.stdout) == {"done": 1}
    assert result.stderr == "error: late\n"


def test_an_invalid_definition_lists_every_problem_with_file_and_line(
    workdir: Path,
) -> None:
    broken = workdir / "broken.yaml"
    broken.write_text("id: broken\nversion: 1\n", encoding="utf-8")

    code, out, err = invoke("tree", "validate", str(broken), "--json")

    error = json.loads(out)["error"]
    assert code == ExitCode.INVALID_INPUT == error["exit_code"]
    assert (error["kind"], error["type"]) == ("invalid_input", "SourceError")
    assert error["problems"]
    assert {(p["file"], type(p["line"])) for p in error["problems"]} == {(str(broken), int)}
    assert err.startswith("error: ")


def test_an_unknown_execution_with_json_names_it(workdir: Path) -> None:
    code, out, _ = invoke("executions", "show", "0" * 32, "--json")

    assert code == ExitCode.INVALID_INPUT
    assert json.loads(out)["error"] == {
        "kind": "invalid_input",
        "exit_code": 4,
        "type": "UnknownExecutionError",
        "message": f"unknown execution {'0' * 32!r}",
    }
