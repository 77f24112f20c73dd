"""The device inventory file: who owns which device, and which device an asset tag names."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.devices.inventory import Device, YamlDeviceInventory
from gateway.errors import GatewayError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "automations" / "catalog" / "inventory" / "devices.yaml"


def test_the_shipped_inventory_names_devices_by_name_and_asset_tag() -> None:
    inventory = YamlDeviceInventory.load(SHIPPED)

    assert inventory.device_for("tom-laptop") == "tom-laptop"
    assert inventory.device_for("FIN-0101") == "tom-laptop"
    assert inventory.device_for("fin-0102") == "tom-desktop"  # tags are read case-insensitively
    assert inventory.device_for("LT-0452") is None  # an unknown tag is not a device
    assert inventory.owner_of("tom-laptop") == "tom"
    assert inventory.owner_of("nobody-laptop") is None
    assert inventory.devices_of("tom") == ["tom-desktop", "tom-laptop"]
    device = inventory.device("tom-laptop")
    assert device is not None
    assert device.asset_tag == "FIN-0101"
    assert len(inventory) >= 9


def test_a_device_without_an_asset_tag_is_found_by_name_only() -> None:
    inventory = YamlDeviceInventory({"kiosk-1": Device(owner="elena", kind="kiosk")})
    assert inventory.device_for("kiosk-1") == "kiosk-1"
    assert inventory.device_for("") is None


def test_a_device_name_that_is_not_a_plain_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "devices.yaml"
    path.write_text("devices:\n  'tom laptop': {owner: tom}\n", encoding="utf-8")
    with pytest.raises(GatewayError, match="device name 'tom laptop' must match"):
        YamlDeviceInventory.load(path)
