"""Every action of the shipped bundle accepts the context the gateway sets on every
request (a freeze or a maintenance window from the change calendar, why a freeze is
assumed, a step-up's age): an action whose context type lacked them would be denied by
schema validation the moment a freeze began."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SCHEMA = Path(__file__).resolve().parents[2] / "policies" / "cedar" / "gateway.cedarschema"
GATEWAY_SET = (
    "change_freeze?: Bool",
    "change_window?: Bool",
    "change_calendar_problem?: String",
    "step_up_age_seconds?: Long",
)


def declared() -> tuple[dict[str, str], dict[str, str]]:
    """(context type name -> body, action name -> its context: a type name or a body)."""
    text = re.sub(r"//[^\n]*", "", SCHEMA.read_text(encoding="utf-8"))
    types = dict(re.findall(r"type\s+(\w+)\s*=\s*\{([^}]*)\}", text))
    actions: dict[str, str] = {}
    for name, applies in re.findall(
        r'action\s+"([^"]+)"[^;]*?appliesTo\s*\{(.*?)\}\s*;', text, re.S
    ):
        match = re.search(r"context\s*:\s*(\w+|\{[^}]*\})", applies)
        actions[name] = match.group(1) if match else "{}"
    return types, actions


TYPES, ACTIONS = declared()


def test_the_schema_declares_actions_with_contexts() -> None:
    assert len(ACTIONS) >= 10
    assert "access.grant" in ACTIONS


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_the_action_accepts_the_context_the_gateway_sets(action: str) -> None:
    context = ACTIONS[action]
    body = TYPES.get(context, context)
    compact = re.sub(r"\s+", " ", body)

    for attribute in GATEWAY_SET:
        assert attribute in compact, f"{action}: its context lacks {attribute}"
