"""The embedded device manager: installs recorded as an MDM would report them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.devices import EmbeddedDeviceManager, InstallResult, SoftwareInstaller
from gateway.errors import ActionFailedError


@pytest.fixture
def devices(tmp_path: Path) -> Iterator[EmbeddedDeviceManager]:
    manager = EmbeddedDeviceManager(tmp_path / "devices.db")
    yield manager
    manager.close()


def test_an_install_is_done_once_and_reported_as_it_happened(
    devices: EmbeddedDeviceManager,
) -> None:
    installer: SoftwareInstaller = devices

    first = installer.install("tom-laptop", "visio")
    again = installer.install("tom-laptop", "visio")
    installer.install("tom-laptop", "7zip")

    assert first == InstallResult(changed=True, detail="visio installed on tom-laptop")
    assert again == InstallResult(changed=False, detail="visio was already on tom-laptop")
    assert devices.installed("tom-laptop") == ["7zip", "visio"]
    assert devices.installed("omar-laptop") == []
    assert installer.name == "embedded device manager"


def test_an_uninstall_removes_only_what_is_there(devices: EmbeddedDeviceManager) -> None:
    devices.install("tom-laptop", "visio")

    removed = devices.uninstall("tom-laptop", "visio")
    again = devices.uninstall("tom-laptop", "visio")

    assert removed == InstallResult(changed=True, detail="visio removed from tom-laptop")
    assert again == InstallResult(changed=False, detail="visio was not on tom-laptop")
    assert devices.installed("tom-laptop") == []


def test_an_install_without_a_device_is_refused(devices: EmbeddedDeviceManager) -> None:
    with pytest.raises(ActionFailedError, match=r"^install: no device named$"):
        devices.install("", "visio")


def test_installs_are_kept_across_a_restart(tmp_path: Path) -> None:
    first = EmbeddedDeviceManager(tmp_path / "devices.db")
    first.install("tom-laptop", "visio")
    first.close()

    again = EmbeddedDeviceManager(tmp_path / "devices.db")

    assert again.installed("tom-laptop") == ["visio"]
    again.close()


def test_a_store_that_cannot_be_opened_is_a_refusal_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "devices.db").mkdir()

    with pytest.raises(
        ActionFailedError, match=r"devices\.db: cannot open embedded device manager"
    ):
        EmbeddedDeviceManager(tmp_path / "devices.db")
