"""The API's OpenAPI document: every error documented as an ``application/problem+json``
problem, so clients (and schema checkers) know each status a route can answer; links from
each answer that makes a thing to the calls that follow it (``gateway.api.links``).

FastAPI documents a 422 ``HTTPValidationError`` on every operation that takes a parameter
or a body; the gateway answers those with a problem instead, so the document says so and
drops FastAPI's validation schemas."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gateway.api.links import add_links
from gateway.api.problems import PROBLEM_MEDIA_TYPE, Problem
from gateway.api.schemas import EXTRA_SCHEMAS
from gateway.api.ticket_bodies import TICKET_SCHEMAS

__all__ = ["ERRORS_OF_BODIES", "ERRORS_OF_CALLERS", "openapi_document", "problem_responses"]

_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
_PROBLEM_REF = "#/components/schemas/Problem"
_TEXT_HEADER = {"schema": {"type": "string"}}
_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not valid JSON.",
    401: "Credentials are missing, unknown, revoked, expired or invalid (or, for a step-up, "
    "the code is wrong).",
    403: "The caller may not do this: a scope is missing, the route is for people only, a "
    "person asked about someone else, or the vote is refused.",
    404: "There is no such thing, or this part of the gateway is turned off.",
    409: "The state does not allow it (finished request, digest mismatch, vote already cast, "
    "not enrolled).",
    413: "The body is larger than the configured limit.",
    422: "A field is invalid; the problem names every one.",
    429: "Too many tries: step-up is locked after failures, or unauthenticated deliveries "
    "are over their rate; retry after the given seconds.",
    503: "A part the gateway needs is unavailable (audit log, directory, stores, token keys).",
    504: "No answer within the configured request timeout.",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "The Bearer scheme.", **_TEXT_HEADER}},
    429: {"Retry-After": {"description": "Seconds to wait before trying again.", **_TEXT_HEADER}},
}

ERRORS_OF_CALLERS = (401, 403, 503, 504)  # any authenticated route
ERRORS_OF_BODIES = (400, 413, 422)  # any route taking a JSON body


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route answering problems with ``statuses``."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted(set(statuses)):
        response: dict[str, Any] = {"model": Problem, "description": _DESCRIPTIONS[status]}
        if status in _HEADERS:
            response["headers"] = _HEADERS[status]
        responses[status] = response
    return responses


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, built once, with problems under their own media type."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for path_item in document["paths"].values():
        for operation in path_item.values():
            for status, response in operation["responses"].items():
                if status == "422":  # FastAPI's own, or one declared with problem_responses
                    response["description"] = _DESCRIPTIONS[422]
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}}
                elif status[0] in "45":  # FastAPI files it under the route's own media type
                    (media,) = response["content"].values()
                    response["content"] = {PROBLEM_MEDIA_TYPE: media}
    _tidy_schemas(document)
    add_links(document)
    app.openapi_schema = document
    return document


def _tidy_schemas(document: dict[str, Any]) -> None:
    """``Problem`` among the components when referred to; FastAPI's validation schemas not
    when nothing refers to them any more."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    if _PROBLEM_REF in json.dumps(document["paths"]) and "Problem" not in schemas:
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
    _add_referenced(document, {**EXTRA_SCHEMAS, **TICKET_SCHEMAS})
    for name in _FASTAPI_VALIDATION:  # HTTPValidationError first: it refers to the other
        others = {key: value for key, value in schemas.items() if key != name}
        if f'#/components/schemas/{name}"' not in json.dumps([document["paths"], others]):
            schemas.pop(name, None)


def _add_referenced(document: dict[str, Any], catalog: dict[str, Any]) -> None:
    """The schemas of ``catalog`` the document refers to, and those they refer to."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    while True:
        text = json.dumps([document["paths"], schemas])
        missing = [
            name
            for name in catalog
            if name not in schemas and f'"#/components/schemas/{name}"' in text
        ]
        if not missing:
            return
        schemas.update({name: catalog[name] for name in missing})
