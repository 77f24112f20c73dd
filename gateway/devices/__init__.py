"""Devices and the software on them: the installer protocol and its embedded default."""

from gateway.devices.embedded import EmbeddedDeviceManager
from gateway.devices.installer import InstallResult, SoftwareInstaller

__all__ = ["EmbeddedDeviceManager", "InstallResult", "SoftwareInstaller"]
