"""The bundle in force, and reloading it when its files change.

A reload that fails validation is refused: the last good bundle stays in force and the
refusal is reported with every problem found.  A background watcher can call
``reload_if_changed`` every few seconds.

With an audit sink, a reload is the gateway's own administration and is audited like
any privileged change: ``policy.reloaded`` (the digests of the bundle in force and of
the new one) is appended *before* the new bundle is put in force, so a log that cannot be
written leaves the old bundle in force (``AuditWriteError``; the watcher tries again on
its next beat); ``policy.reload_refused`` keeps a refused bundle's digest and problems.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from gateway.audit.records import AuditEvent
from gateway.audit.sink import AuditSink
from gateway.errors import GatewayError, PolicyBundleError
from gateway.policy.bundle import bundle_digest, load_bundle
from gateway.policy.engine import PolicyEngine

__all__ = ["POLICY_RELOADED", "POLICY_RELOAD_REFUSED", "PolicyStore", "ReloadOutcome"]

log = logging.getLogger(__name__)

POLICY_RELOADED = "policy.reloaded"
POLICY_RELOAD_REFUSED = "policy.reload_refused"
RELOAD_ACTOR = "gateway"  # the serving process itself puts the bundle's files in force
MAX_RECORDED_PROBLEMS = 20


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

    def __init__(self, root: Path, *, audit: AuditSink | None = None) -> None:
        self.root = root
        self._audit = audit
        self._lock = threading.Lock()
        self._engine = PolicyEngine(load_bundle(root))
        self._refused: tuple[str, ReloadOutcome] | None = None  # (digest, outcome)
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def engine(self) -> PolicyEngine:
        return self._engine

    def reload(self) -> ReloadOutcome:
        """Load the bundle again; keep the one in force if the new one is invalid, or if
        the audit log cannot record the change (``AuditWriteError``)."""
        with self._lock:
            current = self._engine.digest
            try:
                bundle = load_bundle(self.root)
            except PolicyBundleError as exc:
                self._record(_refused(current, self._files_digest(), exc))
                log.warning("policy bundle refused, %s stays in force: %s", current, exc)
                return ReloadOutcome(False, current, exc)
            if bundle.digest == current:
                return ReloadOutcome(False, current)
            engine = PolicyEngine(bundle)
            self._record(_reloaded(current, bundle.digest))  # before it is in force
            self._engine = engine
            log.info("policy bundle %s in force (was %s)", bundle.digest, current)
            return ReloadOutcome(True, bundle.digest)

    def _record(self, event: AuditEvent) -> None:
        if self._audit is not None:
            self._audit(event)

    def _files_digest(self) -> str | None:
        try:
            return bundle_digest(self.root)
        except PolicyBundleError:
            return None

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
            try:
                self.reload_if_changed()
            except GatewayError as exc:  # the audit log refused the record: try again later
                log.warning("policy reload not recorded, %s stays in force: %s",
                            self._engine.digest, exc)  # fmt: skip

    def stop_watching(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            self._stop.set()
            watcher.join()


def _reloaded(old: str, new: str) -> AuditEvent:
    return AuditEvent(
        type=POLICY_RELOADED,
        actor=RELOAD_ACTOR,
        policy_digest=new,
        payload={"old_digest": old, "new_digest": new},
    )


def _refused(old: str, new: str | None, error: PolicyBundleError) -> AuditEvent:
    return AuditEvent(
        type=POLICY_RELOAD_REFUSED,
        actor=RELOAD_ACTOR,
        policy_digest=old,
        payload={
            "old_digest": old,
            "new_digest": new,
            "summary": error.summary,
            "problems": [str(problem) for problem in error.problems[:MAX_RECORDED_PROBLEMS]],
            "problem_count": len(error.problems),
        },
    )
