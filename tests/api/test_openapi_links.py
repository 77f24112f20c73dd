"""The OpenAPI document links each answer that makes a thing (an execution, an approval, a
troubleshooting session, a self-service run) to the calls that follow it, and a client that
follows the links as written reaches them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import Api, build_api
from tests.api.test_executions import wait_for

_EXPRESSION = re.compile(r"^\$response\.body#(?P<pointer>(/[^/]*)*)$")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    made = build_api(tmp_path_factory.mktemp("links"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def document(api: Api) -> dict[str, Any]:
    found: dict[str, Any] = api.client.get("/openapi.json", headers=api.as_service()).json()
    return found


def _resolve(document: dict[str, Any], reference: str) -> dict[str, Any]:
    node: Any = document
    for part in reference.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    resolved: dict[str, Any] = node
    return resolved


def _links(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                for name, link in answer.get("links", {}).items():
                    yield f"{method.upper()} {path} {status}", name, link


def _evaluate(expression: Any, body: Any) -> Any:
    """A link's runtime expression (``$response.body#/a/0``) over an answer's ``body``."""
    if isinstance(expression, dict):
        return {key: _evaluate(value, body) for key, value in expression.items()}
    match = _EXPRESSION.match(expression)
    assert match is not None, expression
    for part in match["pointer"].split("/")[1:]:
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


def _follow(
    api: Api, document: dict[str, Any], source: str, name: str, body: Any, headers: dict[str, str]
) -> Any:
    """Call the target of link ``name`` of ``source`` with what it takes from ``body``."""
    method, path, status = source.split(" ")
    link = document["paths"][path][method.lower()]["responses"][status]["links"][name]
    target = link["operationRef"].removeprefix("#/paths/").rsplit("/", 1)
    url = target[0].replace("~1", "/").replace("~0", "~")
    for parameter, expression in link.get("parameters", {}).items():
        url = url.replace(f"{{{parameter}}}", str(_evaluate(expression, body)))
    payload = _evaluate(link["requestBody"], body) if "requestBody" in link else None
    return api.client.request(target[1].upper(), url, json=payload, headers=headers)


def test_every_link_names_an_operation_its_parameters_and_its_body_fields(
    document: dict[str, Any],
) -> None:
    problems = []
    for source, name, link in _links(document):
        target = _resolve(document, link["operationRef"])
        declared = {parameter["name"] for parameter in target.get("parameters", [])}
        if set(link.get("parameters", {})) - declared:
            problems.append(f"{source} {name}: parameters {set(link['parameters']) - declared}")
        if "requestBody" in link:
            schema = target["requestBody"]["content"]["application/json"]["schema"]
            fields = set(_resolve(document, schema["$ref"])["properties"])
            if set(link["requestBody"]) - fields:
                problems.append(f"{source} {name}: body {set(link['requestBody']) - fields}")
        expressions = [*link.get("parameters", {}).values(), *link.get("requestBody", {}).values()]
        for expression in expressions:
            if not _EXPRESSION.match(expression):
                problems.append(f"{source} {name}: {expression}")

    assert problems == []


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("POST /v1/executions 202", {"GetExecution", "CancelExecution", "ReadSecretOutput",
                                     "GetApproval", "ApproveApproval", "RejectApproval",
                                     "GetStepUpStatus", "VerifyStepUp"}),
        ("GET /v1/approvals/{approval_id} 200", {"ApproveApproval", "RejectApproval"}),
        ("POST /v1/troubleshooting/sessions 201", {"GetSession", "AnswerSession",
                                                   "UndoSession", "ResumeSession"}),
        ("POST /v1/catalog/items/{item_id}/runs 202", {"GetRun", "ResumeRun", "CancelRun",
                                                       "GetRunExecution", "GetRunApproval"}),
        ("POST /v1/tickets/generic 202", {"GetExecution"}),
    ],
)  # fmt: skip
def test_what_is_made_links_to_what_follows(
    document: dict[str, Any], source: str, names: set[str]
) -> None:
    assert {name for found, name, _ in _links(document) if found == source} == names


def test_an_approval_is_followed_from_the_execution_that_waits_for_it(
    api: Api, document: dict[str, Any]
) -> None:
    omar, priya = api.as_person("omar"), api.as_person("priya")
    started = api.client.post(
        "/v1/executions",
        json={"workflow": "access-grant", "parameters": {"user": "tom", "system": "payroll"}},
        headers=omar,
    )
    assert started.status_code == 202
    source = "POST /v1/executions 202"

    shown = _follow(api, document, source, "GetExecution", started.json(), omar)
    assert shown.json()["id"] == started.json()["id"]
    waiting = wait_for(api, omar, started.json()["id"], "pending_approval")
    approval = _follow(api, document, source, "GetApproval", waiting, priya)
    assert approval.status_code == 200
    approved = _follow(api, document, source, "ApproveApproval", waiting, priya)

    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"


def test_a_session_is_followed_from_its_start(api: Api, document: dict[str, Any]) -> None:
    elena = api.as_person("elena")
    started = api.client.post(
        "/v1/troubleshooting/sessions",
        json={"tree": "email", "facts": {"client": "outlook"}},
        headers=elena,
    )
    assert started.status_code == 201
    source = "POST /v1/troubleshooting/sessions 201"

    shown = _follow(api, document, source, "GetSession", started.json(), elena)

    assert shown.status_code == 200
    assert shown.json()["id"] == started.json()["id"]


def test_a_run_is_followed_from_its_start(api: Api, document: dict[str, Any]) -> None:
    tom = api.as_person("tom")
    started = api.client.post(
        "/v1/catalog/items/install-software/runs",
        json={"parameters": {"title": "7zip", "devices": "tom-laptop"}},
        headers=tom,
    )
    assert started.status_code == 202, started.text

    shown = _follow(api, document, "POST /v1/catalog/items/{item_id}/runs 202", "GetRun",
                    started.json(), tom)  # fmt: skip

    assert shown.status_code == 200
    assert shown.json()["id"] == started.json()["id"]
