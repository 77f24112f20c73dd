"""Step-up on a field kit: the technician's TOTP enrolment made for one kit only.

``issue_kit_stepup`` makes, when a kit is prepared, a fresh seed for its technician (never
the central one: a kit that leaks gives no code the central gateway accepts) and the
``otpauth://`` URI shown to them once.  The seed travels inside the kit's signed body, next
to the device key (``docs/offline.md`` says why and what that risks).

``open_kit_stepup`` gives the offline gateway its step-up service: the step-up service of
the central gateway (same checks, lockout, binding and audit events, recorded in the
kit's segment) over a local store next to the kit (``<kit>.stepup.db``), so the replay
guard survives restarts.  The seed is sealed in that store under a key derived from the
kit's device key (HKDF-SHA256): the store alone gives nothing.  Once the kit has expired
no code is checked (``CodeRejectedError``, reason ``kit_expired``) and no earlier step-up
counts; an enrolment is never made on a kit.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from gateway.audit.sink import AuditSink
from gateway.clock import Clock, utcnow
from gateway.offline.errors import OfflineError
from gateway.offline.kit import Kit, KitStepUp
from gateway.policy.decision import StepUpObligation
from gateway.stepup import totp
from gateway.stepup.errors import CodeRejectedError, StepUpStoreError
from gateway.stepup.seeds import KEY_BYTES, SeedCipher
from gateway.stepup.service import Enrolment, StepUpService
from gateway.stepup.settings import StepUpSettings
from gateway.stepup.store import StepUpStore

__all__ = ["KitStepUpService", "describe", "issue_kit_stepup", "open_kit_stepup", "seed_key"]

SEED_KEY_INFO = b"it-support-gateway field kit step-up seed key v1\n"


def issue_kit_stepup(technician: str, kit_id: str, issuer: str) -> tuple[KitStepUp, SecretStr]:
    """A new enrolment of ``technician`` for kit ``kit_id`` and its provisioning URI (the
    authenticator shows it as ``ISSUER kit-...``, apart from the central enrolment)."""
    label = f"{issuer} {kit_id}"
    enrolment = KitStepUp(user=technician, seed=totp.new_seed(), issuer=label)
    uri = totp.provisioning_uri(enrolment.seed, user=technician, issuer=label)
    return enrolment, SecretStr(uri)


def seed_key(kit: Kit) -> bytes:
    """The key the kit's seed is sealed under in its local store: HKDF-SHA256 over the
    device private key, salted with the kit id."""
    private = kit.device_signer().private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    kdf = HKDF(hashes.SHA256(), KEY_BYTES, kit.manifest.kit_id.encode(), SEED_KEY_INFO)
    return kdf.derive(private)


class KitStepUpService(StepUpService):
    """The step-up service of a kit: nothing counts once the kit has expired."""

    def __init__(
        self,
        store: StepUpStore,
        cipher: SeedCipher,
        settings: StepUpSettings,
        *,
        kit: Kit,
        clock: Clock = utcnow,
        audit: AuditSink | None = None,
    ) -> None:
        super().__init__(store, cipher, settings, clock=clock, audit=audit)
        self.kit = kit
        self._kit_clock = clock

    def _expired(self) -> bool:
        return self._kit_clock() >= self.kit.expires

    def _check_live(self) -> None:
        """Refuse once the kit has expired; not recorded: the segment takes no record
        from after the kit's validity (it would be refused at sync)."""
        if self._expired():
            manifest = self.kit.manifest
            raise CodeRejectedError(
                "kit_expired",
                f"field kit {manifest.kit_id} expired at {manifest.expires}: no step-up",
            )

    def enrol(self, user: str, **kwargs: Any) -> Enrolment:
        raise OfflineError("step-up enrolment needs the central gateway, not a field kit")

    def verify(self, user: str, code: str, *, bound_to: str | None = None) -> None:
        self._check_live()
        super().verify(user, code, bound_to=bound_to)

    def verify_recovery_code(self, user: str, code: str, *, bound_to: str | None = None) -> None:
        self._check_live()
        super().verify_recovery_code(user, code, bound_to=bound_to)

    def last_step_up(self, user: str, *, bound_to: str | None = None) -> datetime | None:
        return None if self._expired() else super().last_step_up(user, bound_to=bound_to)

    def claim(
        self,
        obligation: StepUpObligation,
        user: str,
        *,
        bound_to: str,
        consumer: str | None,
        now: datetime | None = None,
    ) -> bool:
        if self._expired():
            return False
        return super().claim(obligation, user, bound_to=bound_to, consumer=consumer, now=now)


def _install(store: StepUpStore, cipher: SeedCipher, enrolment: KitStepUp, at: datetime) -> None:
    """Put the kit's seed in the store unless it already holds it (which keeps its replay
    guard: a restart must not make a used code good again)."""
    user = enrolment.user
    with store.transaction() as tx:
        sealed = tx.seed(user)
        if sealed is not None:
            try:
                held = cipher.open(user, sealed)
            except StepUpStoreError:
                held = ""
            if hmac.compare_digest(held.encode(), enrolment.seed.encode()):
                return
        tx.put_seed(user, cipher.seal(user, enrolment.seed), at)


def open_kit_stepup(
    kit: Kit,
    path: Path,
    settings: StepUpSettings,
    *,
    audit: AuditSink | None,
    clock: Clock = utcnow,
) -> KitStepUpService:
    """The kit's step-up service over the store at ``path`` (made when missing)."""
    cipher = SeedCipher(seed_key(kit))
    store = StepUpStore(path)
    if kit.body.stepup is not None:
        _install(store, cipher, kit.body.stepup, clock())
    return KitStepUpService(store, cipher, settings, kit=kit, clock=clock, audit=audit)


def describe(enrolment: KitStepUp, expires: str) -> dict[str, str]:
    """What the central record says of the kit's enrolment: never the seed."""
    return {"method": "totp", "user": enrolment.user, "expires": expires}
