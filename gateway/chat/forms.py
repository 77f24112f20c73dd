"""Slack modals built from a catalog item's form (its JSON Schema for the person), and the
values of a ``view_submission`` read back into that form's shape.

Each parameter is one input block (``block_id`` = the parameter, ``action_id`` =
``value``): an ``enum`` becomes a ``static_select``, an array of an ``enum`` a
``multi_static_select``, an integer a ``number_input``, a boolean a ``static_select`` of
true/false, anything else a ``plain_text_input`` (a list as comma-separated text).
Secret parameters are never asked in chat (a chat client keeps what is typed).
"""

from __future__ import annotations

from typing import Any

__all__ = ["catalog_modal", "has_secrets", "submitted_values", "text_view"]

_MAX_OPTIONS = 100


def _text(text: str, limit: int = 75) -> dict[str, Any]:
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": cut or " "}


def _options(values: list[Any]) -> list[dict[str, Any]]:
    return [{"text": _text(str(v)), "value": str(v)} for v in values[:_MAX_OPTIONS]]


def _element(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items", {})
        if "enum" in items:
            return {
                "type": "multi_static_select",
                "action_id": "value",
                "options": _options(items["enum"]),
                "max_selected_items": schema.get("maxItems", _MAX_OPTIONS),
            }
        return {
            "type": "plain_text_input",
            "action_id": "value",
            "placeholder": _text("comma-separated"),
        }
    if "enum" in schema:
        element: dict[str, Any] = {
            "type": "static_select",
            "action_id": "value",
            "options": _options(schema["enum"]),
        }
        if "default" in schema:
            element["initial_option"] = _options([schema["default"]])[0]
        return element
    if kind == "boolean":
        element = {
            "type": "static_select",
            "action_id": "value",
            "options": _options(["true", "false"]),
        }
        if "default" in schema:
            element["initial_option"] = _options([str(schema["default"]).lower()])[0]
        return element
    if kind == "integer":
        element = {"type": "number_input", "action_id": "value", "is_decimal_allowed": False}
        for key, slack in (("minimum", "min_value"), ("maximum", "max_value")):
            if key in schema:
                element[slack] = str(schema[key])
        if "default" in schema:
            element["initial_value"] = str(schema["default"])
        return element
    element = {
        "type": "plain_text_input",
        "action_id": "value",
        "max_length": min(int(schema.get("maxLength", 3000)), 3000),
    }
    if "default" in schema:
        element["initial_value"] = str(schema["default"])
    return element


def has_secrets(schema: dict[str, Any]) -> bool:
    return any(p.get("writeOnly") for p in schema.get("properties", {}).values())


def catalog_modal(item_id: str, title: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The modal for ``schema`` (``item_schema`` of the person); submits as ``catalog.run``."""
    required = set(schema.get("required", ()))
    blocks: list[dict[str, Any]] = []
    for name, prop in schema.get("properties", {}).items():
        block: dict[str, Any] = {
            "type": "input",
            "block_id": name,
            "label": _text(name.replace("_", " ")),
            "element": _element(prop),
            "optional": name not in required,
        }
        if prop.get("description"):
            block["hint"] = _text(prop["description"], 150)
        blocks.append(block)
    if not blocks:
        blocks.append({"type": "section", "text": _text("Nothing to fill in.", 3000)})
    return {
        "type": "modal",
        "callback_id": "catalog.run",
        "private_metadata": item_id,
        "title": _text(title, 24),
        "submit": _text("Run"),
        "close": _text("Cancel"),
        "blocks": blocks,
    }


def text_view(title: str, text: str) -> dict[str, Any]:
    """A modal that only says ``text`` (what a submission did)."""
    return {
        "type": "modal",
        "title": _text(title, 24),
        "close": _text("Close"),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}],
    }


def _read(state: object) -> object:
    if not isinstance(state, dict):
        return None
    kind = state.get("type")
    if kind == "multi_static_select":
        chosen = state.get("selected_options") or []
        return [o.get("value") for o in chosen if isinstance(o, dict)]
    if kind == "static_select":
        chosen = state.get("selected_option")
        return chosen.get("value") if isinstance(chosen, dict) else None
    return state.get("value")


def _typed(value: object, schema: dict[str, Any]) -> object:
    kind = schema.get("type")
    if isinstance(value, str) and kind == "array":
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, str) and kind == "integer":
        text = value.strip()
        return int(text) if text.lstrip("-").isdigit() and len(text) < 19 else value
    if isinstance(value, str) and kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value


def submitted_values(schema: dict[str, Any], values: object) -> dict[str, object]:
    """``view.state.values`` as the form's values (typed as the schema says); blocks the
    form does not have are kept, so the schema check names them."""
    found: dict[str, object] = {}
    if not isinstance(values, dict):
        return found
    properties: dict[str, Any] = schema.get("properties", {})
    for block_id, actions in values.items():
        state = actions.get("value") if isinstance(actions, dict) else None
        value = _read(state)
        if value is None or value == "":
            continue
        found[str(block_id)[:64]] = _typed(value, properties.get(str(block_id), {}))
    return found
