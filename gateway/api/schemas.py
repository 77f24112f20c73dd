"""JSON Schemas the OpenAPI document refers to that no model produces.

``AuditableJson`` is a JSON value the audit log can hold as canonical JSON
(``gateway.audit.canonical``): no floats, integers within +-(2**53 - 1).
"""

from __future__ import annotations

from typing import Any

from gateway.audit.canonical import MAX_SAFE_INTEGER
from gateway.policy.request import GATEWAY_CONTEXT

__all__ = ["AUDITABLE_CONTEXT", "EXTRA_SCHEMAS"]

_AUDITABLE = {"$ref": "#/components/schemas/AuditableJson"}

EXTRA_SCHEMAS: dict[str, Any] = {
    "AuditableJson": {
        "title": "AuditableJson",
        "description": "A JSON value without floats, its integers within +-(2**53 - 1).",
        "anyOf": [
            {"type": "null"},
            {"type": "boolean"},
            {"type": "string"},
            {"type": "integer", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
            {"type": "array", "items": _AUDITABLE},
            {"type": "object", "additionalProperties": _AUDITABLE},
        ],
    }
}

AUDITABLE_CONTEXT: dict[str, Any] = {
    "type": "object",
    "title": "Context",
    "description": "Facts about the request, audited with the decision; the gateway alone "
    f"sets {', '.join(sorted(GATEWAY_CONTEXT))}.",
    "additionalProperties": _AUDITABLE,
    "propertyNames": {"not": {"enum": sorted(GATEWAY_CONTEXT)}},
    "default": {},
}
