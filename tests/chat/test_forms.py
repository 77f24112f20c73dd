"""Slack modals from catalog forms, and submitted values read back into the form's shape."""

from __future__ import annotations

from typing import Any

from gateway.chat.forms import catalog_modal, has_secrets, submitted_values, text_view

FORM: dict[str, Any] = {
    "type": "object",
    "required": ["system"],
    "properties": {
        "system": {"type": "string", "enum": ["crm", "wiki"], "default": "crm"},
        "hours": {"type": "integer", "minimum": 1, "maximum": 72, "default": 8},
        "notify": {"type": "boolean", "default": False},
        "reason": {"type": "string", "maxLength": 5000, "default": "work", "description": "why"},
        "users": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        "devices": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        "flag": {"type": "boolean"},
        "count": {"type": "integer", "maximum": 3},
        "note": {"type": "string"},
    },
}


def _element(modal: dict[str, Any], name: str) -> dict[str, Any]:
    block = next(b for b in modal["blocks"] if b.get("block_id") == name)
    element: dict[str, Any] = block["element"]
    return element


def test_each_parameter_becomes_the_input_slack_offers_for_it() -> None:
    modal = catalog_modal("grant", "A title far longer than Slack allows in a modal", FORM)

    assert modal["title"]["text"].endswith("…")
    assert len(modal["title"]["text"]) == 24
    assert _element(modal, "system")["initial_option"]["value"] == "crm"
    assert _element(modal, "hours") == {
        "type": "number_input", "action_id": "value", "is_decimal_allowed": False,
        "min_value": "1", "max_value": "72", "initial_value": "8",
    }  # fmt: skip
    assert _element(modal, "notify")["initial_option"]["value"] == "false"
    assert "initial_option" not in _element(modal, "flag")
    assert _element(modal, "reason")["max_length"] == 3000
    assert _element(modal, "reason")["initial_value"] == "work"
    assert _element(modal, "count") == {
        "type": "number_input", "action_id": "value", "is_decimal_allowed": False,
        "max_value": "3",
    }  # fmt: skip
    assert _element(modal, "note") == {
        "type": "plain_text_input", "action_id": "value", "max_length": 3000,
    }  # fmt: skip
    assert _element(modal, "users")["type"] == "plain_text_input"
    assert _element(modal, "devices")["type"] == "multi_static_select"
    optional = {b["block_id"]: b["optional"] for b in modal["blocks"]}
    assert optional["system"] is False
    assert optional["hours"] is True


def test_an_item_without_parameters_says_so() -> None:
    modal = catalog_modal("unlock", "Unlock", {"type": "object", "properties": {}})
    assert modal["blocks"][0]["type"] == "section"
    assert text_view("Done", "ok")["blocks"][0]["text"]["text"] == "ok"


def test_secrets_are_found() -> None:
    assert has_secrets({"properties": {"pin": {"type": "string", "writeOnly": True}}})
    assert not has_secrets(FORM)


def test_submitted_values_take_the_schemas_types() -> None:
    values = {
        "system": {"value": {"type": "static_select", "selected_option": {"value": "wiki"}}},
        "hours": {"value": {"type": "number_input", "value": "12"}},
        "notify": {"value": {"type": "static_select", "selected_option": {"value": "true"}}},
        "users": {"value": {"type": "plain_text_input", "value": "tom, sam,"}},
        "devices": {
            "value": {"type": "multi_static_select", "selected_options": [{"value": "a"}, 7]}
        },
        "flag": {"value": {"type": "static_select", "selected_option": None}},
        "reason": {"value": {"type": "plain_text_input", "value": ""}},
        "colour": {"value": {"type": "plain_text_input", "value": "red"}},
        "odd": "not an object",
    }

    found = submitted_values(FORM, values)

    assert found == {
        "system": "wiki",
        "hours": 12,
        "notify": True,
        "users": ["tom", "sam"],
        "devices": ["a"],
        "colour": "red",
    }


def test_values_that_do_not_parse_stay_as_given_for_the_schema_to_name() -> None:
    values = {
        "hours": {"value": {"type": "number_input", "value": "soon"}},
        "notify": {"value": {"type": "static_select", "selected_option": {"value": "maybe"}}},
    }
    assert submitted_values(FORM, values) == {"hours": "soon", "notify": "maybe"}
    assert submitted_values(FORM, None) == {}
    assert submitted_values(FORM, {"x": {"value": 3}}) == {}
