"""What the runtime needs from a device manager (MDM, asset manager) to install software."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["InstallResult", "SoftwareInstaller"]


@dataclass(frozen=True, slots=True)
class InstallResult:
    """What an install or uninstall did; ``changed`` is false when it was already so."""

    changed: bool
    detail: str


class SoftwareInstaller(Protocol):
    """Installs and removes catalog titles on managed devices.  Both are idempotent.

    Raise ``TargetUnavailableError`` when the manager cannot be reached (the step waits and
    is retried) and ``ActionFailedError`` when it refuses (unknown device, ...)."""

    name: str

    def install(self, device: str, title: str) -> InstallResult: ...

    def uninstall(self, device: str, title: str) -> InstallResult: ...
