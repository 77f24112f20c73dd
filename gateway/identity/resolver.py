"""Identity facts from several sources: merged, cached, and safe when a source is down.

Rules, in order:

* **Freshness.**  Merged facts are cached (bounded, least recently used first out) and
  served while younger than ``ttl_seconds``; then every source is asked again.
* **Disagreement.**  The more restrictive fact wins: the most restrictive status of any
  source (disabled > suspended > locked > password expired > active); privileged group
  membership and the ``privileged`` flag only from the authoritative source; other facts
  from the first source, in priority order, that has a value.  Every disagreement is
  reported to ``on_conflict`` (the gateway audits it).
* **Outages.**  A source that fails ``failure_threshold`` times in a row is not called for
  ``cooldown_seconds`` (circuit breaker); then one call tries it again.  When a source
  cannot answer, cached facts up to ``max_stale_seconds`` old are served marked
  ``stale_since``; the decision point refuses privileged actions on stale facts.  With no
  usable cache, ``DirectoryUnavailableError`` is raised.  Recovery needs no action.
* **Changes.**  Directory actions go to the authoritative source (or the first that can
  act) and drop the user's cached facts, so the next decision sees the change.  A source
  that holds the account but not its password (``PasswordElsewhereError``: an Okta user
  mastered by Active Directory or LDAP) hands password resets and unlocks to the LDAP
  source of that flavor; without one, they are refused with the reason.  Every result
  names the source that acted (``acted_in``) and why, when it was routed (``routing``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from pydantic import SecretStr

from gateway.clock import Clock, utcnow
from gateway.errors import DirectoryActionError, DirectoryUnavailableError, UnknownActorError
from gateway.identity.directory import (
    ActionResult,
    DirectoryActions,
    DirectoryConnector,
    DirectoryListing,
    PasswordDirectory,
    PasswordElsewhereError,
    SiteDirectory,
    account_facts,
)
from gateway.identity.facts import AccountStatus, IdentityFacts, ResourceFacts
from gateway.identity.resolver_settings import ResolverSettings

__all__ = ["CircuitBreaker", "Conflict", "IdentityResolver", "ResolverSettings"]

_SEVERITY = {
    AccountStatus.ACTIVE: 0,
    AccountStatus.PASSWORD_EXPIRED: 1,
    AccountStatus.LOCKED: 2,
    AccountStatus.SUSPENDED: 3,
    AccountStatus.DISABLED: 4,
}
# Facts taken from the first source, in priority order, that has a value; a different value
# elsewhere is reported.  Usernames (each source spells them its own way) and provenance
# times are taken the same way without a report.
_REPORTED_FACTS = (
    "display_name", "email", "department", "title", "manager", "location", "employee_type",
    "mfa_factors",
)  # fmt: skip
_QUIET_FACTS = ("username", "changed_at", "password_changed_at")


@dataclass(frozen=True, slots=True)
class Conflict:
    """Sources disagreed about one fact of one user; ``chosen`` is what was used."""

    user_id: str
    fact: str
    values: dict[str, str]
    chosen: str


@dataclass
class CircuitBreaker:
    """Stops calling a source that keeps failing, and tries it again after a cooldown."""

    threshold: int
    cooldown_seconds: float
    clock: Callable[[], float]
    failures: int = 0
    opened_at: float | None = None

    def allows_call(self) -> bool:
        if self.opened_at is None:
            return True
        return self.clock() - self.opened_at >= self.cooldown_seconds  # half-open: one try

    def succeeded(self) -> None:
        self.failures, self.opened_at = 0, None

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = self.clock()


@dataclass
class _Entry:
    facts: IdentityFacts
    fetched_at: float  # monotonic


@dataclass
class IdentityResolver:
    """A ``DirectoryConnector`` over several sources, the first one authoritative unless
    ``authoritative`` names another."""

    sources: Sequence[DirectoryConnector]
    settings: ResolverSettings = field(default_factory=ResolverSettings)
    authoritative: str | None = None
    privileged_groups: frozenset[str] = frozenset()
    on_conflict: Callable[[Conflict], None] | None = None
    clock: Callable[[], float] = time.monotonic
    wall_clock: Clock = utcnow
    name: str = "resolver"
    _cache: OrderedDict[str, _Entry] = field(init=False, default_factory=OrderedDict)
    _breakers: dict[str, CircuitBreaker] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    calls: int = field(init=False, default=0)  # directory round trips, for measurements

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError("an identity resolver needs at least one source")
        names = [source.name for source in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"identity source names must be unique, found {names}")
        if self.authoritative is None:
            self.authoritative = names[0]
        elif self.authoritative not in names:
            raise ValueError(f"authoritative source {self.authoritative!r} is not one of {names}")
        for source in self.sources:
            self._breakers[source.name] = CircuitBreaker(
                self.settings.failure_threshold, self.settings.cooldown_seconds, self.clock
            )

    # -- cache ---------------------------------------------------------------------------

    def _cached(self, user_id: str) -> _Entry | None:
        with self._lock:
            entry = self._cache.get(user_id)
            if entry is not None:
                self._cache.move_to_end(user_id)
            return entry

    def _store(self, user_id: str, facts: IdentityFacts) -> None:
        """Keep facts under the id they were asked by (a source may answer with another
        spelling of it, e.g. a login for a short name)."""
        with self._lock:
            self._cache[user_id] = _Entry(facts, self.clock())
            self._cache.move_to_end(user_id)
            while len(self._cache) > self.settings.max_entries:
                self._cache.popitem(last=False)

    def close(self) -> None:
        """Close every source that holds connections (LDAP pools, HTTP clients)."""
        for source in self.sources:
            closer = getattr(source, "close", None)
            if callable(closer):
                closer()

    def forget(self, user_id: str) -> None:
        """Drop cached facts, e.g. after a directory action changed them."""
        with self._lock:
            self._cache.pop(user_id, None)

    def listing(self) -> DirectoryListing:
        """The users held in the cache and their accounts, under the ids they were asked
        by; no source is asked."""
        with self._lock:
            cached = [(user_id, entry.facts) for user_id, entry in self._cache.items()]
        return DirectoryListing(
            tuple(facts for _, facts in cached),
            tuple(("account", user_id, account_facts(facts)) for user_id, facts in cached),
        )

    # -- asking the sources --------------------------------------------------------------

    def _ask(self, source: DirectoryConnector, user_id: str) -> IdentityFacts | None:
        """The source's facts, ``None`` when it has no such user; raises when unavailable."""
        breaker = self._breakers[source.name]
        if not breaker.allows_call():
            raise DirectoryUnavailableError(f"{source.name}: not called while it is failing")
        self.calls += 1
        try:
            facts = source.get_user(user_id)
        except UnknownActorError:
            breaker.succeeded()
            return None
        except DirectoryUnavailableError:
            breaker.failed()
            raise
        breaker.succeeded()
        return facts

    def get_user(self, user_id: str) -> IdentityFacts:
        entry = self._cached(user_id)
        if entry is not None and self.clock() - entry.fetched_at < self.settings.ttl_seconds:
            return entry.facts
        found: dict[str, IdentityFacts] = {}
        unavailable: list[str] = []
        for source in self.sources:
            try:
                facts = self._ask(source, user_id)
            except DirectoryUnavailableError as exc:
                unavailable.append(str(exc))
                continue
            if facts is not None:
                found[source.name] = facts
        if unavailable:
            return self._degraded(user_id, entry, unavailable)
        if not found:
            self.forget(user_id)
            raise UnknownActorError(user_id)
        merged = self._merge(user_id, found)
        self._store(user_id, merged)
        return merged

    def _degraded(self, user_id: str, entry: _Entry | None, problems: list[str]) -> IdentityFacts:
        age = None if entry is None else self.clock() - entry.fetched_at
        if entry is None or age is None or age > self.settings.max_stale_seconds:
            raise DirectoryUnavailableError(
                f"directory unavailable for {user_id!r}: {'; '.join(problems)}"
            )
        stale_since = entry.facts.stale_since or self.wall_clock()
        return entry.facts.model_copy(update={"stale_since": stale_since})

    # -- merging -------------------------------------------------------------------------

    def _report(self, user_id: str, fact: str, values: dict[str, str], chosen: str) -> None:
        if len(set(values.values())) > 1 and self.on_conflict is not None:
            self.on_conflict(Conflict(user_id, fact, values, chosen))

    def _merge(self, user_id: str, found: dict[str, IdentityFacts]) -> IdentityFacts:
        ordered = [found[s.name] for s in self.sources if s.name in found]
        authority = found.get(str(self.authoritative))
        status = max((facts.status for facts in ordered), key=_SEVERITY.__getitem__)
        self._report(user_id, "status", {n: str(f.status) for n, f in found.items()}, str(status))
        privileged_groups = {g for f in ordered for g in f.groups if g in self.privileged_groups}
        trusted = authority.groups & self.privileged_groups if authority else frozenset()
        groups = frozenset(g for f in ordered for g in f.groups if g not in privileged_groups)
        if privileged_groups != trusted:
            self._report(
                user_id,
                "privileged_groups",
                {n: ",".join(sorted(f.groups & self.privileged_groups)) for n, f in found.items()},
                ",".join(sorted(trusted)),
            )
        values: dict[str, object] = {}
        sources: dict[str, str] = {"status": "merged", "groups": "merged"}
        for fact in (*_REPORTED_FACTS, *_QUIET_FACTS):
            present = {n: getattr(f, fact) for n, f in found.items() if getattr(f, fact)}
            winner = next((s.name for s in self.sources if s.name in present), None)
            if winner is not None:
                values[fact], sources[fact] = present[winner], winner
                if fact in _REPORTED_FACTS:
                    chosen = str(present[winner])
                    self._report(user_id, fact, {n: str(v) for n, v in present.items()}, chosen)
        # Privilege only from the authoritative source: its own verdict, or its groups
        # among the privileged groups configured for the resolver.
        privileged = authority is not None and (authority.privileged or bool(trusted))
        # Why a fact has no value, from any source, while no source has one.
        notes = {k: v for f in ordered for k, v in f.notes.items() if k not in values}
        return ordered[0].model_copy(
            update={
                **values,
                "status": status,
                "groups": groups | trusted,
                "privileged": privileged,
                "source": "+".join(found),
                "read_at": max((f.read_at for f in ordered if f.read_at), default=None),
                "fact_sources": sources,
                "notes": notes,
            }
        )

    # -- the rest of the connector interface ---------------------------------------------

    def get_resource(self, resource_type: str, resource_id: str) -> ResourceFacts | None:
        if resource_type == "account":
            try:
                return account_facts(self.get_user(resource_id))
            except UnknownActorError:
                return None
        problems = []
        for source in self.sources:
            try:
                facts = source.get_resource(resource_type, resource_id)
            except DirectoryUnavailableError as exc:
                problems.append(str(exc))
                continue
            if facts is not None:
                return facts
        if len(problems) == len(self.sources):
            raise DirectoryUnavailableError(
                f"directory unavailable for {resource_type}:{resource_id}: {'; '.join(problems)}"
            )
        return None

    def find_users(
        self, *, email: str | None = None, username: str | None = None
    ) -> list[IdentityFacts]:
        ids: dict[str, None] = {}
        for source in self.sources:
            for facts in source.find_users(email=email, username=username):
                ids[facts.id] = None
        return [self.get_user(user_id) for user_id in ids]

    def users_at(self, location: str) -> list[IdentityFacts]:
        """The people any source that can list a location places there, merged."""
        ids: dict[str, None] = {}
        for source in self.sources:
            if isinstance(source, SiteDirectory):
                ids.update((facts.id, None) for facts in source.users_at(location))
        return [self.get_user(user_id) for user_id in ids]

    # -- directory actions ---------------------------------------------------------------

    def _acting_source(self) -> DirectoryActions:
        """The authoritative source if it can act, else the first source that can."""
        ordered = sorted(self.sources, key=lambda source: source.name != self.authoritative)
        for source in ordered:
            if isinstance(source, DirectoryActions):
                return source
        raise DirectoryActionError("no identity source can change the directory")

    def _password_owner(self, elsewhere: PasswordElsewhereError) -> DirectoryActions:
        """The configured source that owns the password ``elsewhere`` names."""
        owners = [
            source
            for source in self.sources
            if isinstance(source, PasswordDirectory)
            and isinstance(source, DirectoryActions)
            and source.flavor == elsewhere.flavor
        ]
        named = [owner for owner in owners if owner.name == elsewhere.directory]
        if len(owners) == 1 or len(named) == 1:
            return owners[0] if len(owners) == 1 else named[0]
        missing = (
            f"none of the {len(owners)} LDAP sources of flavor {elsewhere.flavor!r} is named "
            f"{elsewhere.directory!r}"
            if owners
            else f"no LDAP source of flavor {elsewhere.flavor!r} is configured to act on it"
        )
        raise DirectoryActionError(
            f"{elsewhere.action} {elsewhere.user_id!r} refused: {elsewhere.reason}, and {missing}"
        )

    def _act(self, user_id: str, work: Callable[[DirectoryActions], ActionResult]) -> ActionResult:
        source = self._acting_source()
        try:
            result, routing = work(source), None
        except PasswordElsewhereError as elsewhere:
            source = self._password_owner(elsewhere)
            routing = f"{elsewhere.reason}; routed to {getattr(source, 'name', '?')}"
            result = work(source)
        finally:
            self.forget(user_id)
        return replace(result, acted_in=getattr(source, "name", "?"), routing=routing)

    def reset_password(
        self, user_id: str, new_password: SecretStr, *, must_change: bool = True
    ) -> ActionResult:
        return self._act(
            user_id,
            lambda source: source.reset_password(user_id, new_password, must_change=must_change),
        )

    def unlock_account(self, user_id: str) -> ActionResult:
        return self._act(user_id, lambda source: source.unlock_account(user_id))

    def set_enabled(self, user_id: str, enabled: bool) -> ActionResult:
        return self._act(user_id, lambda source: source.set_enabled(user_id, enabled))

    def add_to_group(self, user_id: str, group: str) -> ActionResult:
        return self._act(user_id, lambda source: source.add_to_group(user_id, group))

    def remove_from_group(self, user_id: str, group: str) -> ActionResult:
        return self._act(user_id, lambda source: source.remove_from_group(user_id, group))
