"""Catalog items as JSON Schema (2020-12) forms, for any portal, and submissions checked
against them.

``item_schema`` describes what one person may give an item: each parameter with its type
and constraints, and for a parameter with a ``source`` the ``enum`` of the values offered
to that person (their devices, the approved titles).  Patterns are anchored (``^(?:...)$``)
because the gateway matches the whole value while JSON Schema searches.  Secret
parameters are ``writeOnly``.

``check_submission`` checks values against such a schema with the standard validator and
raises ``ParameterError`` naming each field that is wrong; a secret value is never
echoed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from gateway.runtime.errors import ParameterError
from gateway.selfservice.catalog import CatalogItem
from gateway.selfservice.definitions import CatalogParameter

__all__ = ["DIALECT", "check_submission", "item_schema"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _value_schema(parameter: CatalogParameter) -> dict[str, Any]:
    """One value (each item, for a list)."""
    kind = "string" if parameter.type == "list" else parameter.type
    schema: dict[str, Any] = {"type": kind}
    if kind == "string":
        schema["minLength"] = parameter.min_length
        schema["maxLength"] = parameter.max_length
        if parameter.pattern is not None:
            schema["pattern"] = f"^(?:{parameter.pattern})$"
    if kind == "integer":
        if parameter.minimum is not None:
            schema["minimum"] = parameter.minimum
        if parameter.maximum is not None:
            schema["maximum"] = parameter.maximum
    if parameter.enum is not None:
        schema["enum"] = list(parameter.enum)
    return schema


def _parameter_schema(parameter: CatalogParameter, choices: list[str] | None) -> dict[str, Any]:
    value = _value_schema(parameter)
    if choices is not None:
        value["enum"] = [c for c in choices if c in value.get("enum", choices)]
    if parameter.type == "list":
        schema: dict[str, Any] = {
            "type": "array",
            "items": value,
            "minItems": 1,
            "maxItems": parameter.max_items,
        }
    else:
        schema = value
        if parameter.default is not None:
            schema["default"] = parameter.default
    if parameter.description:
        schema["description"] = parameter.description
    if parameter.secret:
        schema["writeOnly"] = True
    return schema


def item_schema(item: CatalogItem, choices: Mapping[str, list[str]]) -> dict[str, Any]:
    """The form of ``item`` for one person; ``choices`` maps each sourced parameter to the
    values offered to that person (``CatalogBrowser.choices``)."""
    d = item.definition
    properties = {
        name: _parameter_schema(parameter, choices.get(name) if parameter.source else None)
        for name, parameter in d.parameters.items()
    }
    required = [name for name, parameter in d.parameters.items() if parameter.is_required]
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": f"urn:gateway:catalog:{d.id}:v{d.version}",
        "title": d.title,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if d.description:
        schema["description"] = d.description
    return schema


def _field(error: ValidationError, schema: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    if error.validator == "required":
        missing = [name for name in schema.get("required", ()) if name not in values]
        return str(missing[0]) if missing else "(form)"
    if error.validator == "additionalProperties":
        extra = [name for name in values if name not in schema.get("properties", {})]
        return str(extra[0])[:64] if extra else "(form)"
    return str(error.path[0])[:64] if error.path else "(form)"


def _message(error: ValidationError, secret: bool) -> str:
    if error.validator == "required":
        return "required"
    if error.validator == "additionalProperties":
        return "not a parameter of this item"
    if secret:
        return f"the value given does not satisfy {error.validator}"
    return str(error.message)[:200]


def check_submission(schema: Mapping[str, Any], values: Mapping[str, Any], subject: str) -> None:
    """Check ``values`` against ``schema`` (an ``item_schema``); ``ParameterError`` names
    every field that is wrong."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    problems: dict[str, str] = {}
    validator = Draft202012Validator(dict(schema))
    for error in sorted(validator.iter_errors(dict(values)), key=lambda e: list(e.path)):
        name = _field(error, schema, values)
        secret = bool(properties.get(name, {}).get("writeOnly"))
        problems.setdefault(name, _message(error, secret))
    if problems:
        raise ParameterError(subject, problems)
