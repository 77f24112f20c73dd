"""Offline mode's files: a checked kit written out next to it (``<kit>.d/``: policy
files, the site's directory and devices, the workflows and trees allowed offline, the
device key; never the step-up seed), the trust its bundle gets, and where its segment
(``<kit>.segment.log``) and its step-up store (``<kit>.stepup.db``) go.
``gateway.app.offline`` builds the configuration and the gateway from them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gateway.offline.errors import KitError
from gateway.offline.kit import Kit
from gateway.policy.trust import BundleTrust, TrustCheck

__all__ = ["KitTrust", "materialise", "segment_path", "stepup_path"]

_SAFE_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")


def segment_path(kit_path: Path) -> Path:
    stem = kit_path.name.removesuffix(".json").removesuffix(".kit")
    return kit_path.with_name(f"{stem}.segment.log")


def stepup_path(kit_path: Path) -> Path:
    """The kit's local step-up store (its replay guard, lockouts, step-ups)."""
    stem = kit_path.name.removesuffix(".json").removesuffix(".kit")
    return kit_path.with_name(f"{stem}.stepup.db")


def _write(root: Path, name: str, text: str, mode: int = 0o644) -> None:
    if not set(name) <= _SAFE_NAME or name.startswith("/") or ".." in name.split("/"):
        raise KitError("malformed", f"file name {name[:64]!r} leaves the kit's folder")
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(descriptor, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def materialise(kit: Kit, work: Path) -> None:
    """Write the kit's contents under ``work`` (JSON is YAML: one loader reads both)."""
    body = kit.body
    for name, text in {**body.policy.files, **body.policy.signatures}.items():
        _write(work / "policies", name, text)
    _write(work, "directory.yaml", json.dumps(body.facts.directory, indent=1))
    _write(work, "devices.yaml", json.dumps({"devices": body.facts.devices}, indent=1))
    for name, text in body.workflows.items():
        _write(work / "workflows", name, text)
    for name, text in body.trees.items():
        _write(work / "trees", name, text)
    _write(work, "device.key", body.device_private_key, 0o600)
    (work / "catalog").mkdir(exist_ok=True)  # no self-service catalog offline


class KitTrust(BundleTrust):
    """The bundle a kit carries: trusted when its files give the kit's digest (the central
    key signed the kit), and, with ``[policy] trusted_keys``, their signatures count too."""

    def __init__(self, digest: str, signed_by: str, inner: BundleTrust | None) -> None:
        super().__init__((), 1)
        self.digest = digest
        self.signed_by = signed_by
        self.inner = inner

    def check(self, root: Path, digest: str) -> TrustCheck:
        if digest != self.digest:
            problem = f"the kit carries {self.digest}"
            return TrustCheck(digest, "tampered", (), 1, (problem,))
        if self.inner is not None:
            return self.inner.check(root, digest)
        return TrustCheck(digest, "ok", (self.signed_by,), 1)
