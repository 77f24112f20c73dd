"""Loading YAML definitions: values located by line, every error names file and line."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from gateway.errors import SourceError, SourceProblem
from gateway.yaml_source import load_yaml, load_yaml_model


class Ticket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    priority: int = 3
    tags: list[str] = []


def write(tmp_path: Path, text: str, name: str = "doc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_values_and_their_lines_are_loaded(tmp_path: Path) -> None:
    path = write(
        tmp_path, "# a comment\nticket:\n  title: Printer\n  tags:\n    - office\n    - urgent\n"
    )

    document = load_yaml(path)

    assert document.path == path
    assert document.data == {"ticket": {"title": "Printer", "tags": ["office", "urgent"]}}
    assert document.line_of(()) == 2
    assert document.line_of(("ticket",)) == 2
    assert document.line_of(("ticket", "title")) == 3
    assert document.line_of(("ticket", "tags", 1)) == 6


@pytest.mark.parametrize(
    ("loc", "line"),
    [
        (("ticket", "title", "nested"), 3),
        (("ticket", "missing"), 2),
        (("elsewhere",), 2),
    ],
    ids=[
        "a location below a scalar falls back to the scalar",
        "a missing key falls back to its mapping",
        "an unknown top-level key falls back to the document",
    ],
)
def test_line_of_falls_back_to_the_nearest_enclosing_value(
    tmp_path: Path, loc: tuple[str, ...], line: int
) -> None:
    document = load_yaml(write(tmp_path, "\nticket:\n  title: Printer\n"))

    assert document.line_of(loc) == line


def test_an_empty_file_is_a_document_without_data_located_at_line_one(tmp_path: Path) -> None:
    document = load_yaml(write(tmp_path, "# only a comment\n"))

    assert document.data is None
    assert document.line_of(("anything",)) == 1


def test_duplicate_keys_are_all_reported_with_their_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "a: 1\nb:\n  c: 2\n  c: 3\na: 4\n")

    with pytest.raises(SourceError) as caught:
        load_yaml(path)

    assert caught.value.summary == "invalid YAML"
    assert caught.value.problems == (
        SourceProblem(str(path), 4, "duplicate key 'c'"),
        SourceProblem(str(path), 5, "duplicate key 'a'"),
    )
    assert str(caught.value) == f"invalid YAML: {path}:4: duplicate key 'c' (and 1 more)"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: 1\nb: [1, 2\n", 3, "expected ',' or ']', but got '<stream end>'"),
        ("a: 1\n  b: 2\n", 2, "mapping values are not allowed here"),
        ("a: *nowhere\n", 1, "found undefined alias 'nowhere'"),
        ("a: 1\n---\nb: 2\n", 2, "but found another document"),
    ],
    ids=[
        "an unclosed flow sequence is reported where the stream ends",
        "a badly indented mapping is reported on its line",
        "an undefined alias is reported on its line",
        "a second document is reported where it starts",
    ],
)
def test_invalid_yaml_names_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(SourceError) as caught:
        load_yaml(path)

    assert caught.value.summary == "invalid YAML"
    assert caught.value.problems == (SourceProblem(str(path), line, message),)


def test_a_control_character_is_invalid_yaml_without_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a: \x07\n")

    with pytest.raises(SourceError) as caught:
        load_yaml(path)

    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == (str(path), 0)
    assert "unacceptable character #x0007" in problem.message
    assert str(problem).startswith(f"{path}: unacceptable character")


@pytest.mark.parametrize(
    ("content", "error"),
    [(None, "FileNotFoundError"), (b"a: \xff\xfe\n", "UnicodeDecodeError")],
    ids=["a missing file cannot be read", "a file that is not UTF-8 cannot be read"],
)
def test_an_unreadable_file_names_the_file_and_the_reason(
    tmp_path: Path, content: bytes | None, error: str
) -> None:
    path = tmp_path / "doc.yaml"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(SourceError) as caught:
        load_yaml(path)

    assert caught.value.summary == "cannot read file"
    assert caught.value.problems == (SourceProblem(str(path), 0, error),)


def test_a_valid_document_is_returned_as_the_model(tmp_path: Path) -> None:
    path = write(tmp_path, "title: Printer jam\ntags: [office]\n")

    ticket, document = load_yaml_model(path, Ticket, "invalid ticket")

    assert ticket == Ticket(title="Printer jam", tags=["office"])
    assert document.data == {"title": "Printer jam", "tags": ["office"]}


def test_every_validation_error_is_located_in_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "priority: high\ntags:\n  - office\n  - [nested]\nowner: carol\n",
    )

    with pytest.raises(SourceError) as caught:
        load_yaml_model(path, Ticket, "invalid ticket")

    assert caught.value.summary == "invalid ticket"
    assert caught.value.problems == (
        SourceProblem(str(path), 1, "title: Field required"),
        SourceProblem(
            str(path),
            1,
            "priority: Input should be a valid integer, unable to parse string as an integer",
        ),
        SourceProblem(str(path), 4, "tags.1: Input should be a valid string"),
        SourceProblem(str(path), 5, "owner: Extra inputs are not permitted"),
    )


def test_a_document_of_the_wrong_shape_is_reported_for_the_whole_document(tmp_path: Path) -> None:
    path = write(tmp_path, "\n- just\n- a list\n")

    with pytest.raises(SourceError) as caught:
        load_yaml_model(path, Ticket, "invalid ticket")

    assert caught.value.problems == (
        SourceProblem(
            str(path), 2, "document: Input should be a valid dictionary or instance of Ticket"
        ),
    )


def test_a_definition_digest_depends_on_the_content_not_the_layout() -> None:
    from pydantic import BaseModel

    from gateway.yaml_source import definition_digest

    class Item(BaseModel):
        name: str
        tags: list[str] = []

    same = definition_digest(Item(name="a", tags=["x"]))

    assert same == definition_digest(Item.model_validate({"tags": ["x"], "name": "a"}))
    assert same != definition_digest(Item(name="a", tags=["y"]))
    assert same.startswith("sha256:")


def billion_laughs(levels: int = 9, fan_out: int = 10) -> str:
    """A document whose naive expansion has ``fan_out ** levels`` leaves from a few lines."""
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels + 1):
        refs = ", ".join(f"*a{level - 1}" for _ in range(fan_out))
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_document_is_refused_fast_at_the_alias_that_overflows(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, billion_laughs())
    started = time.monotonic()

    with pytest.raises(SourceError) as caught:
        load_yaml(path)

    assert time.monotonic() - started < 1.0
    assert caught.value.summary == "invalid YAML"
    (problem,) = caught.value.problems
    assert problem.file == str(path)
    assert problem.line == 5  # a4 is the first level whose aliases add over 10,000 values
    assert "aliases expand to more than 10000 values" in problem.message


def test_more_aliases_than_the_limit_are_refused_at_the_first_one_too_many(
    tmp_path: Path,
) -> None:
    refs = "\n".join(f"  - *one  # {index}" for index in range(101))
    path = write(tmp_path, f"one: &one x\nmany:\n{refs}\n")

    with pytest.raises(SourceError) as caught:
        load_yaml(path)

    assert caught.value.problems == (
        SourceProblem(str(path), 103, "more than 100 aliases in one document"),
    )


def test_an_alias_inside_the_value_it_names_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "loop: &loop\n  - step\n  - *loop\n")

    with pytest.raises(SourceError) as caught:
        load_yaml(path)

    assert caught.value.problems == (
        SourceProblem(str(path), 3, "alias 'loop' refers to a value that contains it"),
    )


def test_a_few_small_aliases_and_merge_keys_still_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "base: &base {owner: it, tags: [office]}\n"
        "one:\n  <<: *base\n  title: Printer\n"
        "two: {<<: *base, title: Scanner, also: *base}\n",
    )

    document = load_yaml(path)

    assert document.data["one"] == {"owner": "it", "tags": ["office"], "title": "Printer"}
    assert document.data["two"]["also"] == {"owner": "it", "tags": ["office"]}
    assert document.line_of(("two", "title")) == 5


@pytest.mark.parametrize(
    "loader",
    ["tree", "workflow", "catalog item", "trigger", "directory", "policy tests"],
    ids=lambda name: f"the {name} loader refuses an alias bomb",
)
def test_every_definition_loader_refuses_an_alias_bomb(tmp_path: Path, loader: str) -> None:
    from gateway.identity.static import StaticDirectory
    from gateway.policy.testing import run_policy_tests
    from gateway.runtime.workflows import load_workflow
    from gateway.selfservice.catalog import load_item
    from gateway.tickets.rules import load_trigger
    from gateway.troubleshooting.tree import load_tree

    path = write(tmp_path, billion_laughs())
    loaders: dict[str, Callable[[], object]] = {
        "tree": lambda: load_tree(path),
        "workflow": lambda: load_workflow(path, None),  # type: ignore[arg-type]
        "catalog item": lambda: load_item(path, None),  # type: ignore[arg-type]
        "trigger": lambda: load_trigger(path, None),
        "directory": lambda: StaticDirectory.load(path),
        "policy tests": lambda: run_policy_tests(None, [path]),  # type: ignore[arg-type]
    }
    started = time.monotonic()

    with pytest.raises(SourceError) as caught:
        loaders[loader]()

    assert time.monotonic() - started < 1.0
    assert caught.value.problems[0].file == str(path)
    assert caught.value.problems[0].line == 5


def test_nesting_deeper_than_the_limit_is_refused_where_it_gets_too_deep(tmp_path: Path) -> None:
    path = write(tmp_path, "a: 1\nb: " + "[" * 5000 + "]" * 5000 + "\n")

    with pytest.raises(SourceError) as caught:
        load_yaml(path)

    assert caught.value.problems == (SourceProblem(str(path), 2, "nested deeper than 100"),)


def test_nesting_made_deep_by_aliases_is_refused_at_the_alias(tmp_path: Path) -> None:
    lines = ["a0: &a0 " + "[" * 60 + "]" * 60]
    lines += [f"a{n}: &a{n} " + "[" * 60 + f"*a{n - 1}" + "]" * 60 for n in (1, 2)]
    path = write(tmp_path, "\n".join(lines) + "\n")

    with pytest.raises(SourceError) as caught:
        load_yaml(path)

    assert caught.value.problems == (
        SourceProblem(str(path), 2, "nested deeper than 100 once aliases are expanded"),
    )


def test_the_bounded_loader_refuses_an_alias_bomb_in_text_read_elsewhere() -> None:
    import yaml

    from gateway.yaml_source import BoundedSafeLoader

    assert yaml.load("a: &a [1, 2]\nb: *a\n", Loader=BoundedSafeLoader) == {
        "a": [1, 2],
        "b": [1, 2],
    }
    with pytest.raises(yaml.YAMLError, match="aliases expand to more than 10000 values"):
        yaml.load(billion_laughs(), Loader=BoundedSafeLoader)
