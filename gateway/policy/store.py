"""The bundle in force, and reloading it when its files change.

A reload that fails validation is refused: the last good bundle stays in force and the
refusal is reported with every problem found.  Checking for changes costs one ``stat`` per
bundle file, so ``reload_if_changed`` can run often (a background watcher calls it).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import PolicyBundleError
from gateway.policy.bundle import bundle_files, load_bundle
from gateway.policy.engine import PolicyEngine

__all__ = ["PolicyStore", "ReloadOutcome"]

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What a reload did: ``changed`` when a new bundle is in force, ``error`` when refused."""

    changed: bool
    digest: str
    error: PolicyBundleError | None = None


def _fingerprint(root: Path) -> Fingerprint:
    entries = []
    for path in bundle_files(root) if root.is_dir() else []:
        try:
            stat = path.stat()
        except OSError:  # removed between listing and stat: the next check sees it
            continue
        entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


class PolicyStore:
    """Holds the engine of the bundle in force; raises on a bad bundle at first load only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._fingerprint = _fingerprint(root)
        self._engine = PolicyEngine(load_bundle(root))
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def engine(self) -> PolicyEngine:
        return self._engine

    def reload(self) -> ReloadOutcome:
        """Load the bundle again; keep the one in force if the new one is invalid."""
        with self._lock:
            self._fingerprint = _fingerprint(self.root)
            current = self._engine.digest
            try:
                bundle = load_bundle(self.root)
            except PolicyBundleError as exc:
                log.warning("policy bundle refused, %s stays in force: %s", current, exc)
                return ReloadOutcome(False, current, exc)
            if bundle.digest == current:
                return ReloadOutcome(False, current)
            self._engine = PolicyEngine(bundle)
            log.info("policy bundle %s in force (was %s)", bundle.digest, current)
            return ReloadOutcome(True, bundle.digest)

    def reload_if_changed(self) -> ReloadOutcome:
        """Reload only when a bundle file was added, removed or modified."""
        if _fingerprint(self.root) == self._fingerprint:
            return ReloadOutcome(False, self._engine.digest)
        return self.reload()

    def start_watching(self, interval_seconds: float = 2.0) -> None:
        """Check for changes every ``interval_seconds`` in a daemon thread."""
        if self._watcher is not None:
            raise RuntimeError("the policy store is already being watched")
        self._stop.clear()
        self._watcher = threading.Thread(
            target=self._watch, args=(interval_seconds,), name="policy-watch", daemon=True
        )
        self._watcher.start()

    def _watch(self, interval_seconds: float) -> None:
        while not self._stop.wait(interval_seconds):
            self.reload_if_changed()

    def stop_watching(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            self._stop.set()
            watcher.join()
