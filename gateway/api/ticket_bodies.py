"""The bodies the ticket webhooks accept, as JSON Schemas for the OpenAPI document.

The routes read the raw body (a Jira signature covers its bytes) and hand it to the intake,
which reads it with the models of ``gateway.tickets.payloads``; the schemas here come from
those models, renamed for the document, with what the intake checks beyond them: a
ServiceNow level (``urgency``, ``impact``, ``priority``) is empty or starts with 1 to 5,
a ServiceNow body holding ``record`` is a business-rule event wrapping that record, and one
holding ``result`` (but no ``sys_id``) a Table API answer.

What no schema can say: an ``updated`` event (any ServiceNow event but an ``insert``) for a
ticket the gateway does not know is kept as a dead letter and answered 422.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from gateway.tickets.payloads import GenericEvent, JiraIssue, ServiceNowRecord

__all__ = ["TICKET_SCHEMAS", "request_body"]

_REF = "#/components/schemas/{model}"
_RENAMED = {  # the payload models' private names, as the document shows them
    "_Reference": "ServiceNowReference",
    "_JiraFields": "JiraIssueFields",
    "_JiraNamed": "JiraNamed",
    "_JiraStatus": "JiraStatus",
    "_JiraStatusCategory": "JiraStatusCategory",
    "_JiraUser": "JiraUser",
}
# ``_level``: None or "" is no level; else the first word (after stripping) is 1 to 5
_LEVEL = {
    "anyOf": [{"type": "string", "pattern": r"^(|\s*0*[1-5](\s*| [\s\S]*))$"}, {"type": "null"}],
    "default": None,
    "description": "Empty, or 1 to 5 as its first word (ServiceNow's choice values).",
}

# What the models read as a boolean, or as a level 1 to 5, beyond JSON's own forms
_LAX_BOOLEAN: dict[str, Any] = {
    "anyOf": [
        {"type": "boolean"},
        {"enum": [0, 1]},
        {
            "type": "string",
            "pattern": "^([01]|[Tt]([Rr][Uu][Ee])?|[Ff]([Aa][Ll][Ss][Ee])?|[Yy]([Ee][Ss])?"
            "|[Nn][Oo]?|[Oo]([Nn]|[Ff][Ff]))$",
        },
    ],
    "description": "true or false; also 0 or 1, and yes, no, on, off, t, f, y, n, true, "
    "false in any case.",
}
_LAX_LEVEL: list[dict[str, Any]] = [
    {"type": "integer", "minimum": 1, "maximum": 5},
    {"const": True},  # read as 1
    {"type": "string", "pattern": r"^\s*\+?0*[1-5](\.0+)?\s*$"},
]
_UNKNOWN = (
    "An update (a ``kind`` of ``updated``, a ServiceNow event but an ``insert``, a Jira event "
    "but ``jira:issue_created``) of a ticket the gateway does not know, or that its help "
    "desk does not have, is kept as a dead letter and answered 422."
)


def _schemas(model: type[BaseModel]) -> dict[str, Any]:
    """``model`` and the models it refers to, by their names in the document."""
    text = json.dumps(model.model_json_schema(ref_template=_REF))
    for old, new in _RENAMED.items():
        text = text.replace(f'"{_REF.format(model=old)}"', f'"{_REF.format(model=new)}"')
        text = text.replace(f'"title": "{old}"', f'"title": "{new}"')
    schema: dict[str, Any] = json.loads(text)
    found = {_RENAMED.get(name, name): value for name, value in schema.pop("$defs", {}).items()}
    return {model.__name__: schema, **found}


def _servicenow() -> dict[str, Any]:
    schemas = _schemas(ServiceNowRecord)
    record = schemas["ServiceNowRecord"]
    for level in ("urgency", "impact", "priority"):
        record["properties"][level] = {**_LEVEL, "title": level.title()}
    record["properties"]["active"] = {
        "anyOf": [{"type": "string"}, *_LAX_BOOLEAN["anyOf"]],
        "default": "true",
        "title": "Active",
    }
    record["not"] = {"required": ["record"]}  # that is a business-rule event
    schemas["ServiceNowBusinessRuleEvent"] = {
        "title": "ServiceNowBusinessRuleEvent",
        "description": "A business rule's REST message: the record, and an ``insert`` "
        "operation for a new one (any other value is an update).",
        "type": "object",
        "properties": {
            "table": {"description": "The table of the record (not read)."},
            "operation": {"description": "``insert`` for a new record; else an update."},
            "record": {"$ref": _REF.format(model="ServiceNowRecord")},
        },
        "required": ["record"],
    }
    schemas["ServiceNowTablePage"] = {
        "title": "ServiceNowTablePage",
        "description": "A Table API answer: one record, or a list of records each read on "
        "its own (a bad one is kept as a dead letter and named in ``records``; the others "
        "go on).",
        "type": "object",
        "properties": {
            "result": {
                "anyOf": [
                    {"type": "array", "items": {"description": "A ServiceNowRecord."}},
                    {"$ref": _REF.format(model="ServiceNowRecord")},
                ]
            }
        },
        "required": ["result"],
        "not": {"anyOf": [{"required": ["sys_id"]}, {"required": ["record"]}]},
    }
    schemas["ServiceNowEvent"] = {
        "title": "ServiceNowEvent",
        "description": "A business-rule event, a Table API answer, or a bare record (an update).",
        "anyOf": [
            {"$ref": _REF.format(model="ServiceNowBusinessRuleEvent")},
            {"$ref": _REF.format(model="ServiceNowTablePage")},
            {"$ref": _REF.format(model="ServiceNowRecord")},
        ],
    }
    return schemas


def _jira() -> dict[str, Any]:
    schemas = _schemas(JiraIssue)
    schemas["JiraWebhookEvent"] = {
        "title": "JiraWebhookEvent",
        "description": "A Jira webhook: ``jira:issue_created`` starts a ticket, any other "
        "event is an update of the issue.",
        "type": "object",
        "properties": {
            "webhookEvent": {"type": "string"},
            "issue": {"$ref": _REF.format(model="JiraIssue")},
        },
        "required": ["webhookEvent", "issue"],
    }
    return schemas


def _generic() -> dict[str, Any]:
    schemas = _schemas(GenericEvent)
    ticket = schemas["GenericTicket"]["properties"]
    ticket["closed"] = {**_LAX_BOOLEAN, "default": False, "title": "Closed"}
    for level in ("urgency", "impact", "priority"):
        ticket[level] = {
            "anyOf": [*_LAX_LEVEL, {"type": "null"}],
            "default": None,
            "title": level.title(),
        }
    return schemas


TICKET_SCHEMAS: dict[str, Any] = {**_generic(), **_servicenow(), **_jira()}


def request_body(name: str) -> dict[str, Any]:
    """The ``openapi_extra`` of a route whose JSON body is ``TICKET_SCHEMAS[name]``."""
    if name not in TICKET_SCHEMAS:
        raise KeyError(name)
    schema = {"$ref": _REF.format(model=name)}
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "description": _UNKNOWN, "content": content}}
