"""One folder loader for every kind of definition: order, every problem at once, ids once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from gateway.definitions import (
    DefinitionKind,
    Loaded,
    definition_files,
    load_definition,
    load_definitions,
)
from gateway.errors import SourceError, SourceProblem
from gateway.yaml_source import YamlDocument

THINGS = DefinitionKind("thing", "things")


class Thing(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    size: int = 0


def _not_too_big(thing: Thing, document: YamlDocument) -> list[SourceProblem]:
    if thing.size <= 9:
        return []
    return [SourceProblem(str(document.path), document.line_of(("size",)), "size: above 9")]


def load_thing(path: Path) -> Loaded[Thing]:
    thing, document = load_definition(path, Thing, THINGS, _not_too_big)
    return Loaded(thing, document, thing.id)


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text, encoding="utf-8")
    return folder


def test_a_folder_holds_its_yaml_files_in_name_order(tmp_path: Path) -> None:
    folder = write(tmp_path / "things", b_yaml="id: b\n", a_yaml="id: a\n", c_txt="id: c\n")

    assert definition_files(folder) == [folder / "a.yaml", folder / "b.yaml"]
    assert [t.id for t in load_definitions(folder, load_thing, THINGS)] == ["a", "b"]


def test_a_missing_folder_holds_no_definitions(tmp_path: Path) -> None:
    assert definition_files(tmp_path / "missing") == []
    assert load_definitions(tmp_path / "missing", load_thing, THINGS) == []


def test_one_file_is_parsed_validated_and_checked(tmp_path: Path) -> None:
    path = write(tmp_path / "things", a_yaml="id: a\n\nsize: 10\n") / "a.yaml"

    with pytest.raises(SourceError) as caught:
        load_thing(path)

    assert caught.value.summary == "invalid thing"
    assert [str(p) for p in caught.value.problems] == [f"{path}:3: size: above 9"]


def test_every_problem_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "things",
        a_yaml="id: a\nsize: big\n",
        b_yaml="id: [unclosed\n",
        c_yaml="id: c\nsize: 10\n",
        d_yaml="id: d\n",
    )

    with pytest.raises(SourceError) as caught:
        load_definitions(folder, load_thing, THINGS)

    assert [(Path(p.file).name, p.line) for p in caught.value.problems] == [
        ("a.yaml", 2),
        ("b.yaml", 2),
        ("c.yaml", 2),
    ]
    assert caught.value.diagnostics().startswith("invalid things:\n  ")


def test_an_id_defined_twice_names_both_files_and_lines(tmp_path: Path) -> None:
    folder = write(tmp_path / "things", a_yaml="id: x\n", b_yaml="# the same\n\nid: x\n")

    with pytest.raises(SourceError) as caught:
        load_definitions(folder, load_thing, THINGS)

    assert [str(p) for p in caught.value.problems] == [
        f"{folder / 'b.yaml'}:3: thing id 'x' is also defined in {folder / 'a.yaml'}:1"
    ]


def test_checks_across_files_see_every_file_that_loaded(tmp_path: Path) -> None:
    folder = write(tmp_path / "things", a_yaml="id: a\n", b_yaml="id: b\nsize: 4\n")
    seen: list[str] = []

    def total(loaded: Sequence[Loaded[Thing]]) -> list[SourceProblem]:
        seen.extend(item.source for item in loaded)
        last = loaded[-1]
        return [SourceProblem(last.source, last.document.line_of(("size",)), "sizes add to 4")]

    with pytest.raises(SourceError, match=r"^invalid things: .*b\.yaml:2: sizes add to 4$"):
        load_definitions(folder, load_thing, THINGS, total)
    assert seen == [str(folder / "a.yaml"), str(folder / "b.yaml")]


def test_definitions_without_an_id_are_never_compared(tmp_path: Path) -> None:
    folder = write(tmp_path / "things", a_yaml="id: x\n", b_yaml="id: x\n")

    def anonymous(path: Path) -> Loaded[Thing]:
        thing, document = load_definition(path, Thing, THINGS)
        return Loaded(thing, document)

    assert [t.id for t in load_definitions(folder, anonymous, THINGS)] == ["x", "x"]
