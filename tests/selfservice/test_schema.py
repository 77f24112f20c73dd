"""Catalog items as JSON Schema (2020-12) forms: personalised, standard, and binding."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI, Request
from jsonschema import Draft202012Validator

from gateway.api.problems import problem_for, problem_response
from gateway.api.routes import catalog
from gateway.api.services import get_services
from gateway.callers.caller import Caller, CallerKind
from gateway.errors import GatewayError
from gateway.runtime.errors import ParameterError
from gateway.selfservice import RunRefusedError, SelfService
from gateway.selfservice.catalog import CatalogItem
from gateway.selfservice.definitions import CatalogItemDefinition
from gateway.selfservice.schema import DIALECT, check_submission, item_schema
from tests.api.client import ApiClient
from tests.selfservice.harness import REPO, Stack

TOM = Caller(CallerKind.PERSON, "tom", "tom", frozenset({"catalog:run"}))


@dataclass
class _Services:
    selfservice: SelfService | None


SHIPPED = sorted(path.stem for path in (REPO / "automations" / "catalog").glob("*.yaml"))


@pytest.mark.parametrize("item_id", SHIPPED, ids=lambda i: f"{i} is a valid 2020-12 schema")
def test_every_shipped_item_schema_validates_with_the_standard_validator(
    item_id: str, stack: Stack
) -> None:
    item = stack.service.catalog.get(item_id)
    for person in ("tom", "elena", "nobody-at-all"):
        schema = item_schema(item, stack.service.browser.choices(person, item))
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == DIALECT
        assert set(schema["properties"]) == set(item.definition.parameters)


def test_every_shipped_item_is_checked(stack: Stack) -> None:
    assert [item.id for item in stack.service.catalog] == SHIPPED


def test_the_form_offers_the_person_their_own_devices_and_the_approved_titles(
    stack: Stack,
) -> None:
    item = stack.service.catalog.get("install-software")
    tom = item_schema(item, stack.service.browser.choices("tom", item))
    elena = item_schema(item, stack.service.browser.choices("elena", item))
    assert tom["properties"]["devices"]["items"]["enum"] == ["tom-desktop", "tom-laptop"]
    assert elena["properties"]["devices"]["items"]["enum"] == ["elena-laptop"]
    assert "7zip" in tom["properties"]["title"]["enum"]
    assert tom["required"] == ["title", "devices"]
    assert tom["additionalProperties"] is False


def test_patterns_are_anchored_as_the_gateway_matches_whole_values(stack: Stack) -> None:
    item = stack.service.catalog.get("grant-temporary-access")
    schema = item_schema(item, {})
    validator = Draft202012Validator(schema)
    good = {"users": ["tom"], "system": "crm", "hours": 8}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "users": ["tom; rm -rf /"]})
    assert not validator.is_valid({**good, "hours": 73})
    assert schema["properties"]["hours"]["default"] == 8


def test_a_submission_that_does_not_match_names_each_field(stack: Stack) -> None:
    item = stack.service.catalog.get("grant-temporary-access")
    schema = item_schema(item, {})
    with pytest.raises(ParameterError) as caught:
        check_submission(schema, {"users": [], "system": "mail", "colour": "red"}, "the form")
    assert set(caught.value.problems) == {"users", "system", "colour"}
    assert caught.value.problems["colour"] == "not a parameter of this item"
    assert "'mail' is not one of" in caught.value.problems["system"]


def test_a_missing_field_is_named(stack: Stack) -> None:
    item = stack.service.catalog.get("grant-temporary-access")
    with pytest.raises(ParameterError) as caught:
        check_submission(item_schema(item, {}), {"system": "crm"}, "the form")
    assert caught.value.problems == {"users": "required"}


def test_an_integer_without_bounds_and_a_boolean_are_plain_types() -> None:
    definition = CatalogItemDefinition.model_validate(
        {
            "id": "reboot",
            "title": "Reboot",
            "category": "devices",
            "owner": "it",
            "workflow": "reboot",
            "parameters": {"delay": {"type": "integer"}, "force": {"type": "boolean"}},
        }
    )
    schema = item_schema(CatalogItem(definition, "x", "sha256:0"), {})
    assert schema["properties"] == {"delay": {"type": "integer"}, "force": {"type": "boolean"}}
    assert "description" not in schema
    with pytest.raises(ParameterError) as caught:
        check_submission(schema, {"delay": "soon", "force": True}, "the form")
    assert caught.value.problems == {"delay": "'soon' is not of type 'integer'"}


def test_a_secret_value_is_never_echoed() -> None:
    definition = CatalogItemDefinition.model_validate(
        {
            "id": "set-pin",
            "title": "Set a PIN",
            "category": "accounts",
            "owner": "it",
            "workflow": "pin",
            "parameters": {"pin": {"secret": True, "pattern": "[0-9]{4}"}},
        }
    )
    schema = item_schema(CatalogItem(definition, "x", "sha256:0"), {})
    assert schema["properties"]["pin"]["writeOnly"] is True
    with pytest.raises(ParameterError) as caught:
        check_submission(schema, {"pin": "hunter2"}, "the form")
    assert "hunter2" not in str(caught.value)
    assert caught.value.problems["pin"] == "the value given does not satisfy pattern"


def test_a_run_outside_the_person_form_is_refused_naming_the_field_and_audited(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the approved titles the form offers are the contract: a title the directory still
    # calls approved but the form no longer offers is refused like any invalid value
    browser = stack.service.browser
    real = browser.choices

    def fewer(actor: str, item: CatalogItem) -> dict[str, list[str]]:
        return {n: [v for v in vs if v != "7zip"] for n, vs in real(actor, item).items()}

    monkeypatch.setattr(browser, "choices", fewer)
    with pytest.raises(ParameterError) as caught:
        stack.service.run("tom", "install-software", {"title": "7zip", "devices": "tom-laptop"})
    assert set(caught.value.problems) == {"title"}
    refused = stack.audit_records("selfservice.refused")
    assert refused[-1]["reason"] == "invalid_parameters"
    assert "title" in refused[-1]["message"]
    assert stack.service.recent("tom") == []


@contextmanager
def _catalog_client(stack: Stack) -> Iterator[ApiClient]:
    app = FastAPI()
    app.include_router(catalog.router)

    @app.exception_handler(GatewayError)
    async def _problem(request: Request, exc: GatewayError) -> object:
        return problem_response(problem_for(exc), request.url.path)

    app.dependency_overrides[get_services] = lambda: _Services(stack.service)
    app.dependency_overrides[catalog.runner] = lambda: TOM
    http = ApiClient(app)
    try:
        yield http
    finally:
        http.close()


def test_the_schema_endpoint_serves_the_callers_form(stack: Stack) -> None:
    with _catalog_client(stack) as http:
        answer = http.get("/v1/catalog/items/install-software/schema")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/schema+json")
        body: dict[str, Any] = answer.json()
        Draft202012Validator.check_schema(body)
        assert body["properties"]["devices"]["items"]["enum"] == ["tom-desktop", "tom-laptop"]
        missing = http.get("/v1/catalog/items/no-such-item/schema")
        assert missing.status_code == 404


def test_a_run_refused_by_guardrails_still_says_why_before_the_form(stack: Stack) -> None:
    with pytest.raises(RunRefusedError) as caught:
        stack.service.run("tom", "install-software", {"title": "7zip", "devices": "priya-laptop"})
    assert caught.value.reason == "target_not_allowed"
