"""The device inventory: which managed device belongs to whom.

The embedded default is a YAML file (``[selfservice] inventory``)::

    devices:
      tom-laptop: {owner: tom, kind: laptop, asset_tag: FIN-0101, model: Latitude 5440}

Look-ups are exact matches on the device name (or, for ``device_for``, the asset tag,
case-insensitive): a value is never used as a pattern.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.yaml_source import load_yaml_model

__all__ = ["AssetSource", "Device", "DeviceInventory", "InventoryFile", "YamlDeviceInventory"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class Device(BaseModel):
    """One managed device."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    owner: str = Field(min_length=1, max_length=128)
    kind: str = Field(default="laptop", min_length=1, max_length=64)
    asset_tag: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=128)


class InventoryFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    devices: dict[str, Device] = Field(default_factory=dict)

    @field_validator("devices")
    @classmethod
    def _check_names(cls, devices: dict[str, Device]) -> dict[str, Device]:
        for name in devices:
            if _NAME.fullmatch(name) is None:
                raise ValueError(f"device name {name[:64]!r} must match {_NAME.pattern}")
        return devices


class DeviceInventory(Protocol):
    """Who owns which device."""

    def owner_of(self, device: str) -> str | None: ...

    def devices_of(self, user: str) -> list[str]: ...


class AssetSource(Protocol):
    """Which managed device an asset tag (``LT-0452``) or a device name names."""

    def device_for(self, name_or_tag: str) -> str | None: ...


class YamlDeviceInventory:
    """The inventory held in a YAML file, checked on load (file and line in errors)."""

    def __init__(self, devices: dict[str, Device]) -> None:
        self._devices = dict(devices)
        self._by_owner: dict[str, list[str]] = {}
        self._by_tag: dict[str, str] = {}
        for name, device in sorted(self._devices.items()):
            self._by_owner.setdefault(device.owner, []).append(name)
            if device.asset_tag:
                self._by_tag.setdefault(device.asset_tag.casefold(), name)

    @classmethod
    def load(cls, path: Path) -> YamlDeviceInventory:
        model, _ = load_yaml_model(path, InventoryFile, "invalid device inventory")
        return cls(model.devices)

    def device(self, name: str) -> Device | None:
        return self._devices.get(name)

    def device_for(self, name_or_tag: str) -> str | None:
        """The device named ``name_or_tag``, or the one carrying it as its asset tag."""
        if name_or_tag in self._devices:
            return name_or_tag
        return self._by_tag.get(name_or_tag.casefold())

    def owner_of(self, device: str) -> str | None:
        found = self._devices.get(device)
        return None if found is None else found.owner

    def devices_of(self, user: str) -> list[str]:
        return list(self._by_owner.get(user, []))

    def __len__(self) -> int:
        return len(self._devices)
