"""The authorization table covers every route and every command, says what their guards
really do, and the weakest credential is refused on every route that needs one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gateway.api.security import Requires
from gateway.callers.scopes import PERSON_ONLY_SCOPES, SCOPES
from gateway.cli import cli
from gateway.enforcement.table import AUTHORIZATION_TABLE, Entry, commands, routes
from tests.api.conftest import Api, build_api

SERVICE_SCOPES = tuple(sorted(set(SCOPES) - PERSON_ONLY_SCOPES))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    made = build_api(tmp_path_factory.mktemp("table"))
    yield made
    made.close()


def served(api: Api) -> dict[str, APIRoute]:
    """Every route the app answers, walking included routers (they add no prefix here)."""
    found: dict[str, APIRoute] = {}

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.update({f"{method} {route.path}": route for method in route.methods})
            elif hasattr(route, "original_router"):
                walk(route.original_router.routes)

    walk(api.app.routes)
    return found


def guards(dependant: Dependant) -> list[Requires]:
    found = [dependant.call] if isinstance(dependant.call, Requires) else []
    for child in dependant.dependencies:
        found.extend(guards(child))
    return found


def leaf_commands() -> list[str]:
    context = click.Context(cli)
    names: list[str] = []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                walk(sub, [*path, name])
        else:
            names.append(" ".join(path))

    walk(cli, ["gateway"])
    return names


def test_the_table_names_each_route_and_command_once() -> None:
    names = [entry.name for entry in AUTHORIZATION_TABLE]

    assert len(names) == len(set(names))


def test_every_served_route_is_in_the_table_and_every_entry_is_served(api: Api) -> None:
    table = {entry.name for entry in routes()}

    assert sorted(set(served(api)) - table) == []  # a route without an entry
    assert sorted(table - set(served(api))) == []  # an entry without a route


def test_every_command_is_in_the_table_and_every_entry_is_a_command() -> None:
    table = {entry.name for entry in commands()}

    assert sorted(set(leaf_commands()) - table) == []
    assert sorted(table - set(leaf_commands())) == []


@pytest.mark.parametrize("entry", routes(), ids=lambda entry: entry.name)
def test_each_route_guard_is_what_the_table_says(api: Api, entry: Entry) -> None:
    found = guards(served(api)[entry.name].dependant)

    if entry.callers in (("anonymous",), ("signed",)):
        assert found == []
        return
    (guard,) = found
    assert guard.scope == entry.scope
    assert guard.people_only is entry.people_only


def test_every_scope_guards_some_route() -> None:
    assert set(SCOPES) == {entry.scope for entry in routes() if entry.scope is not None}


def test_every_audit_event_type_is_a_valid_type() -> None:
    pattern = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
    for entry in AUTHORIZATION_TABLE:
        assert entry.audit is None or pattern.fullmatch(entry.audit), entry.name


# The generated refusals (no credentials: 401; every scope but the one: 403; an API key on
# a route for people: 403; an inactive person: 403) run over this table in
# tests/api/test_auth_matrix.py.


def test_the_table_module_has_no_entry_for_a_missing_name() -> None:
    from gateway.enforcement.table import entry_for

    assert entry_for("GET /healthz").callers == ("anonymous",)
    with pytest.raises(KeyError):
        entry_for("GET /nowhere")


def test_the_table_is_relative_to_nothing_on_disk() -> None:
    assert not any(Path(entry.name).exists() for entry in AUTHORIZATION_TABLE)


def run_table(*options: str) -> str:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["callers", "table", *options], prog_name="gateway")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_docs_api_md_shows_the_table_as_the_command_prints_it() -> None:
    document = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text("utf-8")

    assert run_table("--markdown") in document  # regenerate with the command when this fails


def test_the_table_prints_as_json_and_as_text() -> None:
    rows = json.loads(run_table("--json"))
    text = run_table()

    assert len(rows) == len(AUTHORIZATION_TABLE)
    (enrol,) = [row for row in rows if row["name"] == "gateway stepup enrol"]
    assert (enrol["action"], enrol["audit"], enrol["http"]) == (
        "stepup.enrol",
        "stepup.enrolled",
        False,
    )
    assert "POST /v1/executions" in text
    assert "executions:write" in text
