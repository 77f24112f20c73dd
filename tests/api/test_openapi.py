"""The OpenAPI document tells the truth: fuzzing every operation with valid credentials
gives no server error, and every answer is documented and matches its schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ALL_SCOPES, Api, MakeApi, build_api
from tests.api.test_auth_matrix import ANONYMOUS, SCOPE_OF, SIGNED

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


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
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    return schemathesis.openapi.from_asgi(
        "/openapi.json", fuzzed.app, config=config, headers=credentials
    )


OPERATIONS = sorted(ANONYMOUS | SIGNED | set(SCOPE_OF))


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_answers_as_documented(
    api_schema: schemathesis.BaseSchema, credentials: dict[str, str], method: str, path: str
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(headers=credentials, checks=CHECKS)

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
