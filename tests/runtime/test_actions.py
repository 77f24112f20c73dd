"""What an action declares must hang together; the registry holds each name once."""

from __future__ import annotations

import pytest

from gateway.runtime.actions import ActionCall, ActionOutput, ActionRegistry, ActionSpec
from gateway.runtime.parameters import ParameterSpec


def _nothing(_: ActionCall) -> ActionOutput:
    return ActionOutput()


def action(name: str, **options: object) -> ActionSpec:
    return ActionSpec(name=name, description=name, run=_nothing, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"permission": "x.run"},
            "action x.run: permission and resource go together",
            id="a permission without a resource",
        ),
        pytest.param(
            {"compensation": "x.undo"},
            "action x.run: compensation and undo go together",
            id="a compensation without its parameters",
        ),
    ],
)
def test_a_declaration_that_does_not_hang_together_is_a_bug(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(RuntimeError, match=f"^{message}$"):
        action("x.run", **options)


def test_an_action_is_registered_once() -> None:
    registry = ActionRegistry([action("x.run")])

    with pytest.raises(RuntimeError, match=r"^action x\.run is registered twice$"):
        registry.register(action("x.run"))
    assert registry.get("x.other") is None


def test_a_compensation_must_be_registered_too() -> None:
    registry = ActionRegistry(
        [action("x.run", compensation="x.undo", undo=lambda params, _: params)]
    )

    with pytest.raises(
        RuntimeError, match=r"^action x\.run: compensation x\.undo is not registered$"
    ):
        registry.check_compensations()
    registry.register(action("x.undo"))
    registry.check_compensations()


def test_an_action_without_a_permission_is_not_privileged_and_has_no_context() -> None:
    plain = action("x.run", parameters={"ticket": ParameterSpec()})

    assert not plain.privileged
    assert plain.context({"ticket": "T-1"}) == {}
    assert plain.parameter_set.subject == "action x.run"
    assert plain.timeout_seconds == 30.0
    assert plain.system == "gateway"
