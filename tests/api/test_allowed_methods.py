"""``OPTIONS`` and ``405`` tell the methods a path serves: the ``Allow`` header lists every
method the OpenAPI document declares for the path, and ``OPTIONS``, the same everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import Api, build_api

EXAMPLE_VALUES = {  # a value for each path parameter: the route need not find the thing
    "{approval_id}": "0123abcd",
    "{execution_id}": "0" * 32,
    "{name}": "temporary_password",
    "{item_id}": "install-software",
    "{run_id}": "0" * 32,
    "{session_id}": "0" * 32,
    "{tree_id}": "email",
    "{article_id}": "vpn-reset",
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    made = build_api(tmp_path_factory.mktemp("allowed"))
    yield made
    made.close()


def _document(api: Api) -> dict[str, Any]:
    document: dict[str, Any] = api.client.get("/openapi.json", headers=api.as_service()).json()
    return document


def _url(template: str) -> str:
    for name, value in EXAMPLE_VALUES.items():
        template = template.replace(name, value)
    return template


def _allowed(header: str) -> set[str]:
    return {method.strip() for method in header.split(",")}


def _documented(api: Api) -> dict[str, set[str]]:
    return {
        path: {method.upper() for method in item} | {"OPTIONS"}
        for path, item in _document(api)["paths"].items()
    }


def test_options_allows_exactly_the_documented_methods_of_every_path(api: Api) -> None:
    documented = _documented(api)

    found = {}
    for path in documented:
        answer = api.client.request("OPTIONS", _url(path))
        assert answer.status_code == 204, f"OPTIONS {path}: {answer.status_code}"
        assert answer.content == b""
        found[path] = _allowed(answer.headers["allow"])

    assert found == documented


def test_a_method_a_path_does_not_serve_is_405_allowing_the_documented_ones(api: Api) -> None:
    documented = _documented(api)

    found = {}
    for path in documented:
        answer = api.client.request("DELETE", _url(path))
        assert answer.status_code == 405, f"DELETE {path}: {answer.status_code}"
        assert answer.headers["content-type"] == "application/problem+json"
        found[path] = _allowed(answer.headers["allow"])

    assert found == documented


def test_options_needs_no_credentials_and_says_nothing_else(api: Api) -> None:
    answer = api.client.request("OPTIONS", "/v1/executions")

    assert answer.status_code == 204
    assert _allowed(answer.headers["allow"]) == {"GET", "POST", "OPTIONS"}
    assert "www-authenticate" not in answer.headers


@pytest.mark.parametrize("method", ["OPTIONS", "DELETE", "GET"])
def test_a_path_the_gateway_does_not_serve_is_404_whatever_the_method(
    api: Api, method: str
) -> None:
    answer = api.client.request(method, "/v1/nowhere")

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert "allow" not in answer.headers


def test_metrics_count_a_path_no_route_serves_as_unmatched(api: Api) -> None:
    api.client.request("DELETE", "/v1/nowhere/at/all")
    api.client.request("OPTIONS", "/v1/nowhere/at/all")

    text = api.client.get("/metrics", headers=api.as_service("metrics:read")).text

    assert 'method="DELETE",route="unmatched",status="404"' in text
    assert 'method="OPTIONS",route="unmatched",status="404"' in text
    assert "{path:path}" not in text.replace('route="/{path:path}",status="204"', "")


def test_the_openapi_document_itself_allows_get_and_options(api: Api) -> None:
    answer = api.client.request("OPTIONS", "/openapi.json")

    assert answer.status_code == 204
    assert _allowed(answer.headers["allow"]) == {"GET", "OPTIONS"}
