"""The bundle in force, and reloading it when its files change.

A reload that fails validation is refused: the last good bundle stays in force and the
refusal is reported with every problem found.  A background watcher can call
``reload_if_changed`` every few seconds.

With an audit sink, a reload is the gateway's own administration and is audited like
any privileged change: ``policy.reloaded`` (the digests of the bundle in force and of
the new one) is appended *before* the new bundle is put in force, so a log that cannot be
written leaves the old bundle in force (``AuditWriteError``; the watcher tries again on
its next beat); ``policy.reload_refused`` keeps a refused bundle's digest and problems.

Every bundle must also be trusted (``gateway.policy.trust``): one that is unsigned,
under-signed or tampered is refused at start (``PolicyTrustError``) and at reload (the
last good bundle stays in force), and the refusal is audited as ``policy.refused`` with
the reason and the digests, never key material.  The engine in force knows its signers.

``prepare_engines`` names one step every engine goes through before it serves (loading the
directory's entities, ``PolicyEngine.load_directory``): the engine in force then, and each
new one before the reload puts it in force.  It runs while the old engine stays in force
(though Cedar's parse holds the interpreter lock while it runs); a step that fails leaves
the new engine as it was (its requests parse their own entities, which decides the same,
only slower) and is logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.audit.keys import Signer
from gateway.audit.records import AuditEvent
from gateway.audit.sink import AuditSink
from gateway.errors import GatewayError, PolicyBundleError
from gateway.policy.bundle import bundle_digest, load_bundle
from gateway.policy.engine import PolicyEngine
from gateway.policy.signatures import signature_state
from gateway.policy.trust import BundleTrust, DevelopmentTrust, PolicyTrustError, TrustCheck

__all__ = [
    "POLICY_REFUSED",
    "POLICY_RELOADED",
    "POLICY_RELOAD_REFUSED",
    "PolicyStore",
    "ReloadOutcome",
]

log = logging.getLogger(__name__)

POLICY_RELOADED = "policy.reloaded"
POLICY_RELOAD_REFUSED = "policy.reload_refused"
POLICY_REFUSED = "policy.refused"  # a bundle that is not trusted (signatures, threshold)
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

    def __init__(
        self, root: Path, *, audit: AuditSink | None = None, trust: BundleTrust | None = None
    ) -> None:
        """``trust`` decides which bundles may be put in force; without one, a throwaway
        development key signs every bundle (in memory) and a warning says so."""
        self.root = root
        self._audit = audit
        self.trust = (
            trust if trust is not None else DevelopmentTrust(Signer.generate(), write=False)
        )
        self._lock = threading.Lock()
        bundle = load_bundle(root)
        check = self.trust.check(root, bundle.digest)
        if not check.ok:
            self._record(_untrusted(None, check))
            log.error("policy bundle %s refused: %s", bundle.digest, check.describe())
            raise PolicyTrustError(root, check)
        self._engine = PolicyEngine(bundle, signers=check.signers)
        self._prepare: Callable[[PolicyEngine], None] | None = None
        self._refused: tuple[object, ReloadOutcome] | None = None  # (files state, outcome)
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def engine(self) -> PolicyEngine:
        return self._engine

    def prepare_engines(self, prepare: Callable[[PolicyEngine], None]) -> None:
        """Run ``prepare`` on the engine in force now and on every later engine before it
        is put in force (reloads, the watcher)."""
        with self._lock:
            self._prepare = prepare
            self._prepared(self._engine)

    def _prepared(self, engine: PolicyEngine) -> PolicyEngine:
        if self._prepare is not None:
            try:
                self._prepare(engine)
            except (GatewayError, ValueError) as exc:
                log.warning("policy bundle %s: engine not prepared, it parses every "
                            "request's entities: %s", engine.digest, exc)  # fmt: skip
        return engine

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
            check = self.trust.check(self.root, bundle.digest)
            if not check.ok:
                self._record(_untrusted(current, check))
                log.warning("policy bundle %s refused (%s), %s stays in force",
                            bundle.digest, check.describe(), current)  # fmt: skip
                return ReloadOutcome(False, current, PolicyTrustError(self.root, check))
            engine = self._prepared(PolicyEngine(bundle, signers=check.signers))
            self._record(_reloaded(current, bundle.digest, check.signers))  # before in force
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
        state = (digest, signature_state(self.root))  # a new signature may make it trusted
        if self._refused is not None and self._refused[0] == state:
            return self._refused[1]
        outcome = self.reload()
        self._refused = (state, outcome) if outcome.error is not None else None
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


def _reloaded(old: str, new: str, signers: tuple[str, ...]) -> AuditEvent:
    return AuditEvent(
        type=POLICY_RELOADED,
        actor=RELOAD_ACTOR,
        policy_digest=new,
        payload={"old_digest": old, "new_digest": new, "signers": list(signers)},
    )


def _untrusted(old: str | None, check: TrustCheck) -> AuditEvent:
    return AuditEvent(
        type=POLICY_REFUSED,
        actor=RELOAD_ACTOR,
        policy_digest=old,
        payload={
            "reason": check.verdict,
            "digest": check.digest,
            "in_force": old,
            "signers": list(check.signers),
            "threshold": check.threshold,
            "problems": list(check.problems[:MAX_RECORDED_PROBLEMS]),
        },
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
