"""Step-up verification: enrol a user, check a TOTP or recovery code, answer freshness.

Every attempt runs in this order, inside one store transaction:

1. A locked user is refused (``StepUpLockedError``) before the code is even looked at.
2. The code's form is checked (``MalformedCodeError``); then the enrolment is looked up
   (``NotEnrolledError``) and the seed decrypted (``StepUpStoreError`` if it does not).
3. A TOTP code must match a time step within ``valid_window`` of now, and that step must
   be above the highest step already accepted for the user (replay guard); a recovery
   code must match an unused code, which is then marked used.
4. A refused wrong, malformed or replayed code is counted; ``max_failures`` of them within
   ``failure_window_seconds`` lock the user for ``lockout_seconds`` and clear the count.
5. A success clears the count and records the step-up (time, method, binding).

An enrolment replaces any earlier seed and recovery codes and revokes every step-up made
before it.  A step-up bound to a request is used up by the one execution it lets go on
(``claim``), unless the obligation allows reuse within its window.

Audit events (``stepup.enrolled``, ``stepup.reset``, ``stepup.verified``,
``stepup.recovery_code_used``, ``stepup.consumed``, ``stepup.failed``, ``stepup.locked``)
never hold a code or a seed.  A success, an enrolment or a use is audited before its
transaction commits, so if the audit append fails nothing changes; a refusal is committed
first and audited after, so it counts either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from gateway.audit.records import AuditEvent
from gateway.audit.sink import AuditSink
from gateway.clock import Clock, utcnow
from gateway.errors import RequestError
from gateway.policy.decision import StepUpObligation
from gateway.stepup import recovery, totp
from gateway.stepup.binding import check_digest
from gateway.stepup.errors import (
    CodeRejectedError,
    EnrolmentChangedError,
    MalformedCodeError,
    NotEnrolledError,
    StepUpError,
    StepUpLockedError,
    StepUpStoreError,
)
from gateway.stepup.seeds import SeedCipher
from gateway.stepup.settings import StepUpSettings
from gateway.stepup.store import StepUpStore, Transaction, format_time
from gateway.storage import Backend

__all__ = ["Enrolment", "StepUpService"]

Check = Callable[[Transaction], None]

TOTP = "totp"
RECOVERY_CODE = "recovery_code"
_REASONS: dict[type[StepUpError], str] = {
    MalformedCodeError: "malformed",
    NotEnrolledError: "not_enrolled",
    StepUpStoreError: "seed_unreadable",
}


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the user is shown once: the seed, its URI and the recovery codes."""

    user: str
    seed: SecretStr
    provisioning_uri: SecretStr
    recovery_codes: tuple[SecretStr, ...]
    enrolled_at: datetime
    replaced: bool  # an earlier enrolment (and its recovery codes) was replaced


def _check_user(user: str) -> None:
    if not isinstance(user, str) or not 0 < len(user) <= 256 or not user.isprintable():
        raise RequestError("user id must be 1 to 256 printable characters")


class StepUpService:
    """TOTP step-up with replay protection, lockout, recovery codes and binding."""

    def __init__(
        self,
        store: StepUpStore,
        cipher: SeedCipher,
        settings: StepUpSettings | None = None,
        *,
        clock: Clock = utcnow,
        audit: AuditSink | None = None,
    ) -> None:
        self._store = store
        self._cipher = cipher
        self.settings = settings or StepUpSettings()
        self._clock = clock
        self._audit = audit

    @classmethod
    def open(
        cls,
        settings: StepUpSettings | None = None,
        *,
        clock: Clock = utcnow,
        audit: AuditSink | None = None,
        backend: Backend | None = None,
    ) -> StepUpService:
        """The service over ``settings.database`` (or its tables on ``backend``) and
        ``settings.seed_key_file``."""
        settings = settings or StepUpSettings()
        cipher = SeedCipher.from_key_file(settings.seed_key_file, create=settings.create_seed_key)
        store = StepUpStore(settings.database, backend=backend)
        return cls(store, cipher, settings, clock=clock, audit=audit)

    def close(self) -> None:
        self._store.close()

    def _now(self, now: datetime | None = None) -> datetime:
        moment = self._clock() if now is None else now
        if moment.tzinfo is None:
            raise TypeError("step-up times must be timezone-aware")
        return moment.astimezone(UTC)

    def _record(self, kind: str, user: str, payload: dict[str, Any], **fields: Any) -> None:
        if self._audit is not None:
            self._audit(AuditEvent(type=f"stepup.{kind}", actor=user, payload=payload, **fields))

    # -- enrolment -------------------------------------------------------------------------

    def enrol(
        self,
        user: str,
        *,
        by: str | None = None,
        replacing: bool | None = None,
        decision_id: str | None = None,
    ) -> Enrolment:
        """A new seed and recovery codes for ``user``, replacing any earlier ones.

        ``by`` (``user`` when not given) is who enrols; the caller has decided that they
        may (``stepup.enrol`` for a first enrolment, ``stepup.reset`` to replace one,
        ``decision_id``) and passes in ``replacing`` whether it decided on a replacement:
        when that is no longer so, ``EnrolmentChangedError`` and nothing changes.  The
        ``stepup.enrolled`` or ``stepup.reset`` record is appended before the new seed is
        stored; step-ups made before it no longer count.
        """
        _check_user(user)
        actor = user if by is None else by
        _check_user(actor)
        now = self._now()
        seed = totp.new_seed()
        codes = [recovery.new_code() for _ in range(self.settings.recovery_code_count)]
        hashed = [recovery.hash_code(code, self.settings.recovery_scrypt_n) for code in codes]
        sealed = self._cipher.seal(user, seed)
        with self._store.transaction() as tx:
            replaced = tx.seed(user) is not None
            if replacing is not None and replacing is not replaced:
                raise EnrolmentChangedError(user, replaced)
            revoked = tx.revoke_step_ups(user)
            invalidated = tx.replace_recovery_codes(user, hashed)
            self._record(
                "reset" if replaced else "enrolled",
                actor,
                {
                    "user": user,
                    "method": TOTP,
                    "replaced": replaced,
                    "recovery_issued": len(codes),
                    "recovery_invalidated": invalidated,
                    "step_ups_revoked": revoked,
                },
                resource=f"account:{user}",
                decision_id=decision_id,
            )
            tx.put_seed(user, sealed, now)
        uri = totp.provisioning_uri(seed, user=user, issuer=self.settings.issuer)
        return Enrolment(
            user=user,
            seed=SecretStr(seed),
            provisioning_uri=SecretStr(uri),
            recovery_codes=tuple(SecretStr(code) for code in codes),
            enrolled_at=now,
            replaced=replaced,
        )

    def is_enrolled(self, user: str) -> bool:
        with self._store.transaction(write=False) as tx:
            return tx.seed(user) is not None

    def locked_until(self, user: str, now: datetime | None = None) -> datetime | None:
        """When the user's lockout ends, or ``None`` when step-up is not locked."""
        moment = self._now(now)
        with self._store.transaction(write=False) as tx:
            return tx.locked_until(user, moment)

    # -- verification ----------------------------------------------------------------------

    def verify(self, user: str, code: str, *, bound_to: str | None = None) -> None:
        """Accept a TOTP code or raise; on success the step-up is recorded (and bound)."""
        _check_user(user)
        check_digest(bound_to)
        now = self._now()

        def check(tx: Transaction) -> None:
            totp.check_code_format(code)
            sealed = tx.seed(user)
            if sealed is None:
                raise NotEnrolledError(user)
            seed = self._cipher.open(user, sealed)
            step = totp.matching_step(seed, code, now, self.settings.valid_window)
            if step is None:
                raise CodeRejectedError("wrong_code", "step-up code is wrong or expired")
            if not tx.advance_step(user, step):
                raise CodeRejectedError(
                    "replayed", "step-up code was already used; wait for the next one"
                )

        self._attempt(user, now, TOTP, bound_to, check)

    def verify_recovery_code(self, user: str, code: str, *, bound_to: str | None = None) -> None:
        """Accept an unused recovery code (then used up) or raise; counts as a step-up."""
        _check_user(user)
        check_digest(bound_to)
        now = self._now()
        # Hashing is slow: compare outside the write lock, then claim the code inside it.
        with self._store.transaction(write=False) as tx:
            locked = tx.locked_until(user, now) is not None
            enrolled = tx.seed(user) is not None
            stored = tx.unused_recovery_codes(user)
        problem: StepUpError | None = None
        slot: int | None = None
        if not locked:
            try:
                plain = recovery.normalise_code(code)
            except MalformedCodeError as exc:
                problem = exc
            else:
                slot = next((at for at, item in stored if recovery.matches(plain, item)), None)

        def check(tx: Transaction) -> None:
            if problem is not None:
                raise problem
            if not enrolled:
                raise NotEnrolledError(user)
            if slot is None or not tx.use_recovery_code(user, slot, now):
                raise CodeRejectedError("wrong_code", "recovery code is wrong or already used")

        self._attempt(user, now, RECOVERY_CODE, bound_to, check)

    def _attempt(
        self, user: str, now: datetime, method: str, bound_to: str | None, check: Check
    ) -> None:
        settings = self.settings
        refusal: StepUpError
        failures: int | None = None
        locked_now = False
        with self._store.transaction() as tx:
            until = tx.locked_until(user, now)
            if until is not None:
                refusal, reason = _locked(user, until, "step-up is locked"), "locked"
            else:
                try:
                    check(tx)
                except (MalformedCodeError, CodeRejectedError) as exc:
                    refusal, reason = exc, _reason(exc)
                    window_start = now - timedelta(seconds=settings.failure_window_seconds)
                    failures = tx.add_failure(user, now, window_start)
                    if failures >= settings.max_failures:
                        until = now + timedelta(seconds=settings.lockout_seconds)
                        tx.lock(user, now, until)
                        refusal = _locked(user, until, f"{failures} failed step-ups: locked")
                        locked_now = True
                except (NotEnrolledError, StepUpStoreError) as exc:
                    refusal, reason = exc, _reason(exc)
                else:
                    tx.clear_failures(user)
                    keep_after = now - timedelta(seconds=settings.history_seconds)
                    tx.add_step_up(user, now, method, bound_to, keep_after)
                    self._record_success(tx, user, method, bound_to)
                    return
        payload: dict[str, Any] = {"method": method, "reason": reason}
        if failures is not None:
            payload["failures"] = failures
        self._record("failed", user, payload)
        if locked_now and until is not None:
            self._record(
                "locked",
                user,
                {"method": method, "failures": failures, "until": format_time(until)},
            )
        raise refusal

    def _record_success(
        self, tx: Transaction, user: str, method: str, bound_to: str | None
    ) -> None:
        if method == RECOVERY_CODE:
            remaining = len(tx.unused_recovery_codes(user))
            self._record("recovery_code_used", user, {"remaining": remaining, "bound_to": bound_to})
        self._record("verified", user, {"method": method, "bound_to": bound_to})

    # -- freshness -------------------------------------------------------------------------

    def last_step_up(self, user: str, *, bound_to: str | None = None) -> datetime | None:
        """The time of the user's latest step-up; only those bound to ``bound_to`` if given."""
        check_digest(bound_to)
        return self._store.latest_step_up(user, bound_to)

    def context_for(self, user: str, now: datetime | None = None) -> dict[str, int]:
        """``{"step_up_age_seconds": N}`` for the policy request context; ``{}`` if never."""
        moment = self._now(now)
        at = self.last_step_up(user)
        if at is None:
            return {}
        return {"step_up_age_seconds": _age(at, moment)}

    def satisfies(
        self,
        obligation: StepUpObligation,
        user: str,
        now: datetime | None = None,
        *,
        bound_to: str | None = None,
    ) -> bool:
        """Whether a step-up (bound to ``bound_to``, when given) is at most
        ``obligation.max_age_seconds`` old."""
        moment = self._now(now)
        at = self.last_step_up(user, bound_to=bound_to)
        return at is not None and _age(at, moment) <= obligation.max_age_seconds

    def claim(
        self,
        obligation: StepUpObligation,
        user: str,
        *,
        bound_to: str,
        consumer: str | None,
        now: datetime | None = None,
    ) -> bool:
        """Whether a step-up bound to ``bound_to`` meets ``obligation`` for ``consumer``
        (one step of one execution).

        With ``reuse="window"`` any step-up that ``satisfies`` it does.  Otherwise the one
        ``consumer`` already used does, or else the latest unused one at most
        ``max_age_seconds`` old, which is then marked used by ``consumer`` (audited as
        ``stepup.consumed`` before it commits) and counts for nobody else.  Without a
        ``consumer`` nothing can be used up, so only a window obligation can be met.
        """
        check_digest(bound_to)
        moment = self._now(now)
        if obligation.reuse == "window":
            return self.satisfies(obligation, user, moment, bound_to=bound_to)
        if consumer is None:
            return False
        since = moment - timedelta(seconds=obligation.max_age_seconds)
        with self._store.transaction() as tx:
            if tx.used_step_up(user, bound_to, since, consumer):
                return True
            at = tx.use_step_up(user, bound_to, since, consumer, moment)
            if at is None:
                return False
            payload = {
                "bound_to": bound_to,
                "consumed_by": consumer,
                "stepped_up_at": format_time(at),
            }
            self._record("consumed", user, payload)
            return True


def _age(at: datetime, now: datetime) -> int:
    """Whole seconds from ``at`` to ``now``; zero if ``at`` is later (clock skew)."""
    return max(0, int((now - at).total_seconds()))


def _reason(error: StepUpError) -> str:
    if isinstance(error, CodeRejectedError):
        return error.reason
    return _REASONS[type(error)]


def _locked(user: str, until: datetime, why: str) -> StepUpLockedError:
    return StepUpLockedError(user, until, f"{why} for {user!r} until {format_time(until)}")
