"""The OpenAPI document tells the truth: fuzzing every operation with valid credentials,
with requests the document calls valid and with requests it calls invalid, gives no server
error, and every answer is documented and matches its schema (errors as problems)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import jsonschema_rs
import pytest
import schemathesis
from fastapi import APIRouter, Path
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from gateway.api import DEFAULT_ROUTERS
from tests.api.conftest import ALL_SCOPES, Api, MakeApi, build_api
from tests.api.fuzzing import IN_WORDS_ONLY, fuzzing_config
from tests.api.test_auth_matrix import ANONYMOUS, OPTIONS, SCOPE_OF, SIGNED


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    api = build_api(tmp_path_factory.mktemp("fuzzed"))
    yield api
    api.close()


@pytest.fixture(scope="module", params=["person", "service"])
def credentials(fuzzed: Api, request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "person":
        return fuzzed.as_person("elena", *ALL_SCOPES)
    return fuzzed.as_service("decisions:write", "audit:read", "metrics:read")


@pytest.fixture(scope="module")
def api_schema(fuzzed: Api, credentials: dict[str, str]) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi(
        "/openapi.json", fuzzed.app, config=fuzzing_config(), headers=credentials
    )


OPERATIONS = sorted((ANONYMOUS | SIGNED | set(SCOPE_OF)) - {OPTIONS})


def _takes_input(route: APIRoute) -> bool:
    return bool(get_flat_params(route.dependant) or route.body_field)


WITH_INPUT = {  # the operations a request can get wrong by its parameters or body
    (method, route.path)
    for router in DEFAULT_ROUTERS
    for route in router.routes
    if isinstance(route, APIRoute) and _takes_input(route)
    for method in route.methods or ()
}
CASES = [("positive", *operation) for operation in OPERATIONS] + [
    ("negative", *operation) for operation in OPERATIONS if operation in WITH_INPUT
]


@pytest.mark.parametrize(
    ("mode", "method", "path"), CASES, ids=[f"{mode} {m} {p}" for mode, m, p in CASES]
)
def test_every_operation_answers_as_documented(
    api_schema: schemathesis.BaseSchema,
    credentials: dict[str, str],
    mode: str,
    method: str,
    path: str,
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(headers=credentials)  # every check schemathesis has

    answers_as_documented()


def test_every_error_is_documented_as_a_problem(make_api: MakeApi) -> None:
    api = make_api()

    document = api.client.get("/openapi.json", headers=api.as_service()).json()

    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert list(response["content"]) == ["application/problem+json"], (
                        f"{method} {path} {status}"
                    )


def _document(api: Api) -> dict[str, Any]:
    document: dict[str, Any] = api.client.get("/openapi.json", headers=api.as_service()).json()
    return document


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """A validator for ``schema`` (a part of ``document``) that resolves its references."""
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def test_no_operation_declares_fastapis_validation_error(make_api: MakeApi) -> None:
    document = _document(make_api())

    declared = {
        f"{method.upper()} {path} {status}": response["content"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for status, response in operation["responses"].items()
        if status.startswith(("4", "5"))
    }

    assert {name for name, content in declared.items() if content != _PROBLEM_CONTENT} == set()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "ValidationError" not in document["components"]["schemas"]


_PROBLEM_CONTENT = {
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
}


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("GET", "/v1/catalog/items/NOT-AN-ITEM", "/v1/catalog/items/{item_id}"),
        ("GET", "/v1/catalog/runs/xyz", "/v1/catalog/runs/{run_id}"),
        ("POST", "/v1/catalog/runs/xyz/cancel", "/v1/catalog/runs/{run_id}/cancel"),
        ("GET", "/v1/knowledge/articles/%20", "/v1/knowledge/articles/{article_id}"),
        ("GET", "/v1/troubleshooting/sessions/a.b", "/v1/troubleshooting/sessions/{session_id}"),
        ("GET", "/v1/troubleshooting/reports/Tree", "/v1/troubleshooting/reports/{tree_id}"),
    ],
    ids=lambda value: value if value.startswith(("GET", "POST")) else None,
)
def test_an_invalid_path_is_answered_with_the_problem_the_document_declares(
    make_api: MakeApi, method: str, path: str, template: str
) -> None:
    api = make_api()
    document = _document(api)

    answer = api.client.request(method, path, headers=api.as_person("elena", *ALL_SCOPES))

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    declared = document["paths"][template][method.lower()]["responses"]["422"]["content"]
    (schema,) = (media["schema"] for media in declared.values())
    errors = [error.message for error in _validator(document, schema).iter_errors(answer.json())]
    assert errors == []


def _body_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["paths"][path][method]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    return schema


def _query_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    parameters = document["paths"][path][method]["parameters"]
    query = [parameter for parameter in parameters if parameter["in"] == "query"]
    return {
        "type": "object",
        "properties": {parameter["name"]: parameter["schema"] for parameter in query},
        "required": [parameter["name"] for parameter in query if parameter.get("required")],
    }


def _question(resource: object) -> dict[str, Any]:
    return {"actor": "elena", "action": "software.install", "resource": resource}


AGREEMENT = [
    ("a resource object", "/v1/decisions", _question({"type": "software", "id": "visio"})),
    ("an empty resource type", "/v1/decisions", _question({"type": "", "id": "visio"})),
    ("an upper-case resource type", "/v1/decisions", _question({"type": "Software", "id": "v"})),
    ("a resource type with a dash", "/v1/decisions", _question({"type": "soft-ware", "id": "v"})),
    ("a TYPE:ID resource", "/v1/decisions", _question("software:visio")),
    ("an upper-case TYPE", "/v1/decisions", _question("Software:visio")),
    ("a TYPE starting with a digit", "/v1/decisions", _question("1software:visio")),
    ("a long TYPE", "/v1/decisions", _question("s" * 80 + ":visio")),
    ("an ID holding a line break", "/v1/decisions", _question("software:vi\nsio")),
    ("an ID holding a colon", "/v1/decisions", _question("software:a:b")),
    ("no ID", "/v1/decisions", _question("software:")),
    ("no colon", "/v1/decisions", _question("software")),
    ("an ID of 256 characters", "/v1/decisions", _question("software:" + "v" * 256)),
    ("an ID of 257 characters", "/v1/decisions", _question("software:" + "v" * 257)),
    (
        "a resource under input",
        "/v1/data/gateway/authz",
        {"input": _question({"type": "Software", "id": "visio"})},
    ),
    (
        "a context of nested values",
        "/v1/decisions",
        {**_question("software:visio"), "context": {"a": [1, "b", None, True, {"c": -2}]}},
    ),
    (
        "a context holding a float",
        "/v1/decisions",
        {**_question("software:visio"), "context": {"ticket": [1, 1.5]}},
    ),
    (
        "a context holding a whole number written 3.0",
        "/v1/decisions",
        {**_question("software:visio"), "context": {"n": [3.0, {"m": -1e3}]}},
    ),
    (
        "a context holding 2**53",
        "/v1/decisions",
        {**_question("software:visio"), "context": {"n": 2**53}},
    ),
    (
        "a context holding 2**53 - 1",
        "/v1/decisions",
        {**_question("software:visio"), "context": {"n": 2**53 - 1}},
    ),
    (
        "a context naming change_freeze",
        "/v1/decisions",
        {**_question("software:visio"), "context": {"change_freeze": False}},
    ),
    (
        "a context under input holding a float",
        "/v1/data/gateway/authz",
        {"input": {**_question("software:visio"), "context": {"x": 0.5}}},
    ),
    ("a six-digit code", "/v1/stepup/verify", {"code": "123456"}),
    ("a five-digit code", "/v1/stepup/verify", {"code": "12345"}),
    ("a code with letters", "/v1/stepup/verify", {"code": "12345a"}),
    ("a code of other digits", "/v1/stepup/verify", {"code": "١٢٣٤٥٦"}),
    (
        "a grouped recovery code",
        "/v1/stepup/verify",
        {"code": "abcd-efgh-jkmn-pqrs", "recovery": True},
    ),
    (
        "an ungrouped recovery code",
        "/v1/stepup/verify",
        {"code": "ABCDEFGHJKMNPQRS", "recovery": True},
    ),
    (
        "a recovery code with an i",
        "/v1/stepup/verify",
        {"code": "abcd-efgh-jkmn-pqri", "recovery": True},
    ),
    ("a short recovery code", "/v1/stepup/verify", {"code": "abcd-efgh-jkmn", "recovery": True}),
    (
        "a recovery code with dashes",
        "/v1/stepup/verify",
        {"code": "abcd--efgh-jkmn-pqrs", "recovery": True},
    ),
    ("a TOTP code as recovery code", "/v1/stepup/verify", {"code": "123456", "recovery": True}),
    ("a TOTP code, not recovery", "/v1/stepup/verify", {"code": "123456", "recovery": False}),
]


@pytest.mark.parametrize(
    ("path", "body"), [case[1:] for case in AGREEMENT], ids=[case[0] for case in AGREEMENT]
)
def test_the_document_accepts_the_bodies_the_server_accepts(
    make_api: MakeApi, path: str, body: dict[str, Any]
) -> None:
    api = make_api()
    document = _document(api)
    valid = _validator(document, _body_schema(document, "post", path)).is_valid(body)

    answer = api.client.post(path, json=body, headers=api.as_person("elena", *ALL_SCOPES))

    assert answer.status_code < 500
    assert (answer.status_code != 422) == valid, answer.text


@pytest.mark.parametrize("mine", [True, False])
def test_the_document_accepts_the_queries_the_server_accepts(make_api: MakeApi, mine: bool) -> None:
    api = make_api()
    document = _document(api)
    valid = _validator(document, _query_schema(document, "get", "/v1/approvals")).is_valid(
        {"mine": mine}
    )

    answer = api.client.get(
        "/v1/approvals",
        params={"mine": str(mine).lower()},
        headers=api.as_person("elena", *ALL_SCOPES),
    )

    assert (answer.status_code != 422) == valid, answer.text


def test_a_whole_number_in_the_context_is_audited_as_the_integer_it_equals(
    make_api: MakeApi,
) -> None:
    api = make_api()
    question = {**_question("software:visio"), "context": {"n": [3.0, {"m": -1e3}], "x": 2.5e1}}

    answer = api.client.post("/v1/decisions", json=question, headers=api.as_service())

    assert answer.status_code == 200, answer.text
    context = api.audited("decision")[-1].payload["context"]
    assert {name: context[name] for name in ("n", "x")} == {"n": [3, {"m": -1000}], "x": 25}


@pytest.mark.parametrize(("dry_run", "status"), [(True, 200), (False, 202)])
def test_a_catalog_run_and_its_dry_run_answer_with_documented_statuses(
    make_api: MakeApi, dry_run: bool, status: int
) -> None:
    api = make_api()
    document = _document(api)
    body = {"parameters": {"title": "7zip", "devices": "tom-laptop"}, "dry_run": dry_run}

    answer = api.client.post(
        "/v1/catalog/items/install-software/runs", json=body, headers=api.as_person("tom")
    )

    assert answer.status_code == status, answer.text
    declared = document["paths"]["/v1/catalog/items/{item_id}/runs"]["post"]["responses"]
    schema = declared[str(status)]["content"]["application/json"]["schema"]
    assert _validator(document, schema).is_valid(answer.json())


@pytest.mark.parametrize("name", sorted(IN_WORDS_ONLY))
def test_each_refusal_described_in_words_is_a_documented_422(make_api: MakeApi, name: str) -> None:
    method, path = name.split(" ")
    document = _document(make_api())

    declared = document["paths"][path][method.lower()]["responses"]["422"]["content"]

    assert declared == _PROBLEM_CONTENT


def _extra_router() -> APIRouter:
    router = APIRouter()

    @router.get("/v1/extra/{name}")
    def extra(name: Annotated[str, Path(pattern="^[a-z]+$")]) -> dict[str, str]:
        return {"name": name}

    legacy_error = {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}

    @router.get("/v1/legacy", responses={400: {"content": {"application/json": legacy_error}}})
    def legacy() -> dict[str, str]:
        return {}

    return router


def test_a_router_of_its_own_gets_problems_and_keeps_the_schemas_it_names(
    make_api: MakeApi,
) -> None:
    api = make_api(routers=[_extra_router()])
    document = _document(api)

    answer = api.client.get("/v1/extra/NAME", headers=api.as_service())

    declared = document["paths"]["/v1/extra/{name}"]["get"]["responses"]["422"]["content"]
    assert declared == _PROBLEM_CONTENT
    assert answer.status_code == 422
    assert _validator(document, declared["application/problem+json"]["schema"]).is_valid(
        answer.json()
    )
    assert {"HTTPValidationError", "ValidationError"} <= set(document["components"]["schemas"])
