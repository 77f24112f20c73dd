"""The bundle in force, and reloading it when its files change.

A reload that fails validation is refused: the last good bundle stays in force and the
refusal is reported with every problem found.  A background watcher can call
``reload_if_changed`` every few seconds.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import PolicyBundleError
from gateway.policy.bundle import bundle_digest, load_bundle
from gateway.policy.engine import PolicyEngine

__all__ = ["PolicyStore", "ReloadOutcome"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What a reload did: ``changed`` when a new bundle is in force, ``error`` when refused."""

    changed: bool
    digest: str
    error: PolicyBundleError | None = None


class PolicyStore:
    """Holds the engine of the bundle in force; raises on a bad bundle at first load only.

    ``reload_if_changed`` reads the bundle's files and compares their digest with the one
    in force (cheap: no parsing), so it can run every few seconds; a refused bundle is not
    loaded (nor logged) again until its files change once more.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._engine = PolicyEngine(load_bundle(root))
        self._refused: tuple[str, ReloadOutcome] | None = None  # (digest, outcome)
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def engine(self) -> PolicyEngine:
        return self._engine

    def reload(self) -> ReloadOutcome:
        """Load the bundle again; keep the one in force if the new one is invalid."""
        with self._lock:
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
        """Reload only when the bundle's files differ from the bundle in force."""
        try:
            digest = bundle_digest(self.root)
        except PolicyBundleError as exc:
            return ReloadOutcome(False, self._engine.digest, exc)
        if digest == self._engine.digest:
            return ReloadOutcome(False, digest)
        if self._refused is not None and self._refused[0] == digest:
            return self._refused[1]
        outcome = self.reload()
        self._refused = (digest, outcome) if outcome.error is not None else None
        return outcome

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
