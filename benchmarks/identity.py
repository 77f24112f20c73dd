"""Identity look-ups against a real OpenLDAP server: permission checks, sync, round trips.

Run with ``make bench`` (``python -m benchmarks.identity``); ``--help`` lists the options.

A seeded directory of ``--users`` people (default 100,000) in nested groups is generated
as LDIF, loaded offline with ``slapadd`` and served by a throwaway ``slapd`` on a loopback
port (``tests/integration/slapd.py``), which is always stopped at the end.  Its groups
carry the names the shipped policies (``policies/``) use, so decisions are realistic:

* ``staff`` holds 20 ``dept-N`` groups, each holding ``team-N`` groups of 100 users
  (every user is staff through three levels of nesting), plus the role groups below;
* ``helpdesk`` (2 % of users), ``field-technicians`` (1 %), ``it-admins`` (0.2 %),
  ``security-team`` (0.1 %), and ``domain-admins`` (0.02 %, privileged, inside ``it-admins``);
* 1 % of users locked (``pwdAccountLockedTime``), 1 % disabled (``shadowExpire: 1``),
  10 % contractors; everyone but team leads has a manager (the team lead).

Measured, each through the gateway's own objects:

1. **Warm facts**: ``Gateway.authorize`` (resolver look-up of actor and resource, then
   ``PolicyDecisionPoint.decide``, no audit log) while the resolver's cache holds every
   user involved; once with every request distinct (a unique ticket in the context, so the
   Cedar answer cache cannot hit) and once on a repeating Zipf-like mix of requests.
2. **Cold facts**: ``Gateway.authorize`` for actors never looked up before, on requests
   needing exactly one LDAP look-up (user + groups + manager): own account, software, host,
   article.  Also the raw ``LdapDirectory.get_user`` and a naive plain-ldap3 look-up (the
   user entry, then its direct groups: two searches on one bound connection).
3. **Full sync**: ``LdapDirectory.iter_users()`` over every user, against the naive plain
   ldap3 paged search of all user entries with the same attributes, no mapping.
4. **Round trips**: 2,000 decisions by 500 actors drawn with Zipf-like weights, spread over
   600 simulated seconds (the resolver's clock is simulated, TTL 300 s): directory calls
   (``IdentityResolver.calls``) and LDAP searches, against one look-up per decision.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ldap3 import SUBTREE, Connection  # type: ignore[import-untyped]

from gateway.app import Gateway
from gateway.identity.facts import IdentityFacts, ResourceFacts
from gateway.identity.ldap import LdapDirectory
from gateway.identity.ldap_connection import Entry
from gateway.identity.ldap_settings import LdapSettings
from gateway.identity.resolver import IdentityResolver, ResolverSettings
from gateway.policy.request import AccessRequest
from gateway.policy.store import PolicyStore
from tests.integration.slapd import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    GROUPS,
    INSTALL_HINT,
    PEOPLE,
    SLAPADD,
    Slapd,
    _config,
    _entry,
    _group,
    _person,
    free_port,
    group_dn,
    missing,
    user_dn,
)

REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / "policies"
T = TypeVar("T")

TEAM_SIZE = 100
DEPARTMENTS = 20
ROLE_GROUPS = {  # group -> every how many users is a member
    "helpdesk": 50,
    "field-technicians": 100,
    "it-admins": 500,
    "security-team": 1_000,
}
PRIVILEGED_EVERY = 5_000  # domain-admins, nested in it-admins
LOCKED_EVERY, DISABLED_EVERY, CONTRACTOR_EVERY = 100, 100, 10
SOFTWARE = {  # the software catalog: title -> (approved, licensed)
    "7zip": (True, False),
    "vlc": (True, False),
    "notepad-plus": (True, False),
    "visio": (True, True),
    "photoshop": (True, True),
    "torrent": (False, False),
}
WARMUP_CALLS = 30

GOAL_WARM_MS = 0.2
GOAL_COLD_MS = 5.0
GOAL_SYNC_S = 10.0
GOAL_FEWER_CALLS = 10.0


def uid(number: int) -> str:
    return f"u{number:06d}"


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the directory


def directory_ldif(users: int) -> Iterator[str]:
    """The entries of a directory of ``users`` people, in an order slapadd accepts."""
    yield _entry(
        BASE_DN,
        ("objectClass", "dcObject"),
        ("objectClass", "organization"),
        ("dc", "example"),
        ("o", "Example"),
    )
    yield _entry(PEOPLE, ("objectClass", "organizationalUnit"), ("ou", "people"))
    yield _entry(GROUPS, ("objectClass", "organizationalUnit"), ("ou", "groups"))
    for number in range(users):
        name = uid(number)
        lead = number - number % TEAM_SIZE
        extra: list[tuple[str, str]] = [
            ("displayName", f"User {number}"),
            ("mail", f"{name}@example.test"),
            ("departmentNumber", f"D{(number // TEAM_SIZE) % DEPARTMENTS}"),
            ("title", "Team Lead" if lead == number else "Engineer"),
            ("l", ("Porto", "Berlin", "Austin", "Remote")[number % 4]),
            ("employeeType", "contractor" if number % CONTRACTOR_EVERY == 9 else "employee"),
        ]
        if lead != number:
            extra.append(("manager", user_dn(uid(lead))))
        if number % LOCKED_EVERY == 7:
            extra.append(("pwdAccountLockedTime", "20240101000000Z"))
        if number % DISABLED_EVERY == 8:
            extra.append(("shadowExpire", "1"))
        yield _person(name, PEOPLE, *extra)
    teams = math.ceil(users / TEAM_SIZE)
    for team in range(teams):
        numbers = range(team * TEAM_SIZE, min(users, (team + 1) * TEAM_SIZE))
        yield _group(f"team-{team}", [user_dn(uid(number)) for number in numbers])
    for dept in range(DEPARTMENTS):
        yield _group(
            f"dept-{dept}",
            [group_dn(f"team-{team}") for team in range(dept, teams, DEPARTMENTS)] or [ADMIN_DN],
        )
    admins = [user_dn(uid(n)) for n in range(5, users, PRIVILEGED_EVERY)]
    yield _group("domain-admins", admins or [ADMIN_DN])
    for name, every in ROLE_GROUPS.items():
        offset = list(ROLE_GROUPS).index(name) + 1
        members = [user_dn(uid(n)) for n in range(offset, users, every)]
        if name == "it-admins":
            members.append(group_dn("domain-admins"))
        yield _group(name, members or [ADMIN_DN])
    yield _group(
        "staff",
        [
            *(group_dn(f"dept-{dept}") for dept in range(DEPARTMENTS)),
            *(group_dn(name) for name in ROLE_GROUPS),
        ],
    )


def role_of(number: int) -> str:
    """The most specific role group of generated user ``number`` ("staff" otherwise)."""
    for name, every in ROLE_GROUPS.items():
        if number % every == list(ROLE_GROUPS).index(name) + 1:
            return name
    return "staff"


def load_directory(root: Path, users: int) -> Slapd:
    """A ``Slapd`` whose database holds ``directory_ldif(users)`` (not started yet)."""
    server = Slapd(root)
    (root / "db").mkdir(parents=True)
    conf = root / "slapd.conf"
    conf.write_text(_config(root), encoding="utf-8")
    ldif = root / "directory.ldif"
    with ldif.open("w", encoding="utf-8") as out:
        out.writelines(directory_ldif(users))
    subprocess.run(
        [str(SLAPADD), "-q", "-f", str(conf), "-l", str(ldif)], check=True, capture_output=True
    )
    server.port = free_port()
    return server


def ldap_settings(server: Slapd) -> LdapSettings:
    return LdapSettings.load(
        {
            "urls": [server.url],
            "flavor": "openldap",
            "bind_dn": ADMIN_DN,
            "bind_password": ADMIN_PASSWORD,
            "base_dn": BASE_DN,
            "user_base": PEOPLE,
            "group_base": GROUPS,
            "privileged_groups": ["domain-admins"],
            "timeout_seconds": 10,
            "page_size": 500,
        }
    )


class CatalogDirectory:
    """LDAP for people, an in-memory software catalog for software titles.

    ``LdapDirectory`` knows nothing of software, and the shipped policies need the
    ``approved``/``licensed`` facts of a title; a deployment would add a static source for
    them.  A second source in the resolver would be asked for every user too, so the
    catalog is answered here instead and ``IdentityResolver.calls`` counts LDAP only.
    """

    def __init__(self, ldap: LdapDirectory) -> None:
        self.ldap = ldap
        self.name = ldap.name
        self.software = {
            title: ResourceFacts(
                type="software",
                id=title,
                attributes={"approved": approved, "licensed": licensed},
            )
            for title, (approved, licensed) in SOFTWARE.items()
        }

    def get_user(self, user_id: str) -> IdentityFacts:
        return self.ldap.get_user(user_id)

    def get_resource(self, resource_type: str, resource_id: str) -> ResourceFacts | None:
        if resource_type == "software":
            return self.software.get(resource_id)
        return self.ldap.get_resource(resource_type, resource_id)

    def find_users(
        self, *, email: str | None = None, username: str | None = None
    ) -> list[IdentityFacts]:
        return self.ldap.find_users(email=email, username=username)


@dataclass
class SearchCounter:
    """Counts the LDAP searches an ``LdapDirectory`` sends (wraps its connection's search)."""

    count: int = 0

    def attach(self, directory: LdapDirectory) -> None:
        connection = directory._ldap
        original: Callable[..., list[Entry]] = connection.search

        def search(*args: Any, **kwargs: Any) -> list[Entry]:
            self.count += 1
            return original(*args, **kwargs)

        setattr(connection, "search", search)  # noqa: B010 - an instance attribute on purpose


@dataclass
class SimulatedClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    """The running directory and what the workloads draw from."""

    users: int
    ldap: LdapDirectory
    searches: SearchCounter
    store: PolicyStore
    rng: random.Random

    def resolver(
        self, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> IdentityResolver:
        settings = ResolverSettings(ttl_seconds=ttl, max_entries=max(50_000, self.users))
        return IdentityResolver([CatalogDirectory(self.ldap)], settings, clock=clock)

    def gateway(self, resolver: IdentityResolver) -> Gateway:
        return Gateway(self.store, resolver, None)


# --------------------------------------------------------------------------- workload


def request_for(
    rng: random.Random,
    actor: int,
    target: Callable[[], int],
    ticket: str | None = None,
    own_only: bool = False,
) -> AccessRequest:
    """A request the actor's role would plausibly make (10 % anything at all)."""
    role = role_of(actor)
    me = uid(actor)
    context: dict[str, Any] = {"channel": rng.choice(["api", "ticket", "self_service", "chat"])}
    if ticket is not None:
        context["ticket"] = ticket
    if rng.random() < 0.1:
        role = "anyone"
    if own_only:
        choices = [
            ("password.reset", f"account:{me}"),
            ("account.unlock", f"account:{me}"),
            ("software.install", f"software:{rng.choice(list(SOFTWARE))}"),
            ("diagnostics.run", f"host:h{rng.randrange(200):03d}"),
            ("kb.publish", f"article:kb{rng.randrange(200):03d}"),
        ]
        action, resource = rng.choice(choices)
    elif role == "helpdesk":
        action, resource = rng.choice(
            [
                ("password.reset", f"account:{uid(target())}"),
                ("account.unlock", f"account:{uid(target())}"),
                ("diagnostics.run", f"host:h{rng.randrange(200):03d}"),
                ("kb.publish", f"article:kb{rng.randrange(200):03d}"),
            ]
        )
    elif role == "field-technicians":
        action, resource = "diagnostics.run", f"host:h{rng.randrange(200):03d}"
    elif role == "it-admins":
        action = rng.choice(["access.grant", "access.revoke"])
        resource = f"account:{uid(target())}"
        context["system"] = rng.choice(["erp", "crm", "vpn"])
        context["duration_hours"] = rng.choice([8, 72, 720, 2_000])
    elif role == "security-team":
        action, resource = "password.reset", f"account:{uid(target())}"
    elif role == "staff":
        action, resource = rng.choice(
            [
                ("password.reset", f"account:{me}"),
                ("account.unlock", f"account:{me}"),
                ("software.install", f"software:{rng.choice(list(SOFTWARE))}"),
            ]
        )
    else:
        action = rng.choice(
            ["password.reset", "account.unlock", "access.grant", "diagnostics.run", "kb.publish"]
        )
        resource = {
            "diagnostics.run": f"host:h{rng.randrange(200):03d}",
            "kb.publish": f"article:kb{rng.randrange(200):03d}",
        }.get(action, f"account:{uid(target())}")
    return AccessRequest.model_validate(
        {"actor": me, "action": action, "resource": resource, "context": context}
    )


def actor_pool(rng: random.Random, users: int, count: int) -> list[int]:
    """``count`` distinct actors: helpdesk agents and admins over-represented, as in life."""
    wanted = {"helpdesk": count // 10, "field-technicians": count // 50, "it-admins": count // 50}
    wanted["security-team"] = count // 100
    chosen: set[int] = set()
    for name, how_many in wanted.items():
        offset, every = list(ROLE_GROUPS).index(name) + 1, ROLE_GROUPS[name]
        members = list(range(offset, users, every))
        chosen.update(rng.sample(members, min(how_many, len(members))))
    while len(chosen) < count:
        chosen.add(rng.randrange(users))
    pool = sorted(chosen)
    rng.shuffle(pool)
    return pool


def zipf(rng: random.Random, population: Sequence[int], count: int) -> list[int]:
    weights = [1.0 / (rank + 1) for rank in range(len(population))]
    return rng.choices(population, weights=weights, k=count)


# --------------------------------------------------------------------------- measuring


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float
    count: int
    allowed: float = 0.0
    notes: str = ""

    @classmethod
    def of(cls, samples_ns: list[int], allowed: int = 0, notes: str = "") -> Latency:
        ordered = sorted(samples_ns)
        count = len(ordered)
        p99 = ordered[max(0, math.ceil(0.99 * count) - 1)]
        return cls(
            p50_ms=statistics.median(ordered) / 1e6,
            p99_ms=p99 / 1e6,
            count=count,
            allowed=allowed / count,
            notes=notes,
        )


def timed(items: Sequence[T], call: Callable[[T], bool]) -> tuple[list[int], int]:
    """Latency (ns) of ``call`` on each item, and how many calls returned true (allowed)."""
    clock = time.perf_counter_ns
    samples, allowed = [0] * len(items), 0
    gc.collect()
    for index, item in enumerate(items):
        before = clock()
        allowed += call(item)
        samples[index] = clock() - before
    return samples, allowed


@contextmanager
def phase(label: str) -> Iterator[None]:
    progress(label)
    started = time.perf_counter()
    yield
    progress(f"  {label}: {time.perf_counter() - started:.1f} s")


def plain_connection(server: Slapd) -> Any:
    return Connection(server.url, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True)


def bench_lookups(world: World, server: Slapd, samples: int) -> dict[str, Any]:
    """Raw ``LdapDirectory.get_user`` and the naive plain look-up (user + direct groups)."""
    rng = world.rng
    people = rng.sample(range(world.users), samples * 2)
    for number in people[:WARMUP_CALLS]:
        world.ldap.get_user(uid(number))
    before = world.searches.count
    gateway_ns, _ = timed(people[:samples], lambda n: bool(world.ldap.get_user(uid(n))))
    searches = (world.searches.count - before) / samples
    connection = plain_connection(server)
    attributes = ["uid", "mail", "displayName", "departmentNumber", "title", "manager"]

    def naive(number: int) -> bool:
        connection.search(
            PEOPLE, f"(&(objectClass=inetOrgPerson)(uid={uid(number)}))", SUBTREE,
            attributes=attributes,
        )  # fmt: skip
        dn = connection.response[0]["dn"]
        connection.search(
            GROUPS, f"(&(objectClass=groupOfNames)(member={dn}))", SUBTREE, attributes=["cn"]
        )
        return bool(connection.response)

    try:
        for number in people[samples : samples + WARMUP_CALLS]:
            naive(number)
        naive_ns, _ = timed(people[samples:], naive)
    finally:
        connection.unbind()
    return {
        "get_user": Latency.of(gateway_ns, notes=f"{searches:.1f} LDAP searches per look-up"),
        "naive": Latency.of(naive_ns, notes="2 searches: the user entry, its direct groups"),
    }


def bench_cold(world: World, samples: int) -> dict[str, Latency]:
    """``Gateway.authorize`` with an empty cache: exactly one LDAP look-up per decision."""
    rng = world.rng
    actors = rng.sample(range(world.users), samples + WARMUP_CALLS)
    requests = [
        request_for(rng, actor, lambda: 0, ticket=f"COLD-{index}", own_only=True)
        for index, actor in enumerate(actors)
    ]
    resolver = world.resolver()
    gateway = world.gateway(resolver)
    for request in requests[:WARMUP_CALLS]:
        gateway.authorize(request)
    calls = resolver.calls

    def authorize(request: AccessRequest) -> bool:
        return gateway.authorize(request).allowed

    samples_ns, allowed = timed(requests[WARMUP_CALLS:], authorize)
    per = (resolver.calls - calls) / samples
    result = {"one_lookup": Latency.of(samples_ns, allowed, f"{per:.2f} directory calls each")}

    # Two look-ups: a helpdesk agent resets the password of another user, both uncached.
    seen = set(actors)
    fresh = [
        n for n in rng.sample(range(world.users), min(world.users, samples * 3)) if n not in seen
    ]
    agents = [n for n in range(1, world.users, ROLE_GROUPS["helpdesk"]) if n not in seen]
    pairs = list(zip(rng.sample(agents, min(len(agents), samples // 2)), fresh, strict=False))
    two = [
        AccessRequest.model_validate(
            {
                "actor": uid(agent),
                "action": "password.reset",
                "resource": f"account:{uid(target)}",
                "context": {"ticket": f"TWO-{index}"},
            }
        )
        for index, (agent, target) in enumerate(pairs)
    ]
    calls = resolver.calls
    samples_ns, allowed = timed(two, authorize)
    per = (resolver.calls - calls) / max(1, len(two))
    result["two_lookups"] = Latency.of(samples_ns, allowed, f"{per:.2f} directory calls each")
    return result


def bench_warm(world: World, actors: int, samples: int) -> dict[str, Latency]:
    """``Gateway.authorize`` with every user involved already in the resolver's cache."""
    rng = world.rng
    pool = actor_pool(rng, world.users, actors)

    def target() -> int:
        return rng.choice(pool)

    resolver = world.resolver()
    gateway = world.gateway(resolver)
    for number in pool:
        resolver.get_user(uid(number))
    distinct = [
        request_for(rng, actor, target, ticket=f"WARM-{index}")
        for index, actor in enumerate(zipf(rng, pool, samples + WARMUP_CALLS))
    ]
    mix_pool = [request_for(rng, actor, target) for actor in zipf(rng, pool, 300)]
    weights = [1.0 / (rank + 1) for rank in range(len(mix_pool))]
    mix = rng.choices(mix_pool, weights=weights, k=samples)
    for request in distinct[:WARMUP_CALLS]:
        gateway.authorize(request)
    calls = resolver.calls

    def authorize(request: AccessRequest) -> bool:
        return gateway.authorize(request).allowed

    distinct_ns, distinct_allowed = timed(distinct[WARMUP_CALLS:], authorize)
    mix_ns, mix_allowed = timed(mix, authorize)
    assert resolver.calls == calls, "a warm decision went to the directory"

    # The decision alone, facts fetched beforehand: what the look-up adds.
    point = gateway.decision_point
    prepared = [
        (r, resolver.get_user(r.actor), resolver.get_resource(r.resource.type, r.resource.id))
        for r in mix
    ]
    decide_ns, _ = timed(prepared, lambda p: point.decide(*p).allowed)

    def lookup(request: AccessRequest) -> bool:
        resolver.get_resource(request.resource.type, request.resource.id)
        return bool(resolver.get_user(request.actor))

    lookup_ns, _ = timed(mix, lookup)
    hits = 1 - len({r.model_dump_json() for r in mix}) / len(mix)
    return {
        "distinct": Latency.of(
            distinct_ns, distinct_allowed, "every request distinct: no Cedar answer-cache hit"
        ),
        "mix": Latency.of(
            mix_ns, mix_allowed, f"Zipf mix of 300 requests, {hits:.0%} repeats of earlier ones"
        ),
        "mix_decide_only": Latency.of(decide_ns, mix_allowed, "decide() without the look-up"),
        "mix_lookup_only": Latency.of(lookup_ns, 0, "resolver get_user + get_resource, cached"),
    }


def bench_round_trips(
    world: World, decisions: int, actors: int, ttl: float, window: float
) -> dict[str, Any]:
    """Directory calls for ``decisions`` decisions spread over ``window`` simulated seconds."""
    figures: dict[str, Any] = {
        "decisions": decisions,
        "actors": actors,
        "ttl_s": ttl,
        "window_s": window,
    }
    for variant in ("targets_actors", "targets_anyone"):
        rng = random.Random(world.rng.random())
        pool = actor_pool(rng, world.users, actors)

        def target(rng: random.Random = rng, pool: list[int] = pool, v: str = variant) -> int:
            return rng.choice(pool) if v == "targets_actors" else rng.randrange(world.users)

        requests = [request_for(rng, actor, target) for actor in zipf(rng, pool, decisions)]
        clock = SimulatedClock()
        resolver = world.resolver(ttl, clock)
        gateway = world.gateway(resolver)
        lookups = 0
        searches = world.searches.count
        started = time.perf_counter()
        for index, request in enumerate(requests):
            clock.now = window * index / decisions
            lookups += 1 + (request.resource.type == "account")
            gateway.authorize(request)
        figures[variant] = {
            "calls": resolver.calls,
            "ldap_searches": world.searches.count - searches,
            "resolver_lookups": lookups,
            "distinct_users": len(
                {r.actor for r in requests}
                | {r.resource.id for r in requests if r.resource.type == "account"}
            ),
            "seconds": time.perf_counter() - started,
        }
    return figures


def bench_sync(world: World, server: Slapd, runs: int) -> dict[str, Any]:
    """``iter_users()`` over the whole directory against a plain paged search."""
    gateway_s: list[float] = []
    count = 0
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        count = sum(1 for _ in world.ldap.iter_users())
        gateway_s.append(time.perf_counter() - started)
    attributes = world.ldap._user_attributes()
    naive_s: list[float] = []
    naive_count = 0
    for _ in range(runs):
        gc.collect()
        connection = plain_connection(server)
        started = time.perf_counter()
        entries = connection.extend.standard.paged_search(
            PEOPLE,
            "(objectClass=inetOrgPerson)",
            SUBTREE,
            attributes=attributes,
            paged_size=500,
            generator=True,
        )
        naive_count = sum(1 for entry in entries if entry.get("type") == "searchResEntry")
        naive_s.append(time.perf_counter() - started)
        connection.unbind()
    if naive_count != count:
        raise SystemExit(f"iter_users gave {count} users, the plain search {naive_count}")
    figures: dict[str, Any] = {
        "users": count,
        "gateway_s": statistics.median(gateway_s),
        "naive_s": statistics.median(naive_s),
        "ldapsearch_s": None,
        "runs": runs,
    }
    ldapsearch = shutil.which("ldapsearch")
    if ldapsearch is not None:  # OpenLDAP's C client: what the server itself can deliver
        command = [ldapsearch, "-x", "-LLL", "-H", server.url, "-D", ADMIN_DN]
        command += ["-w", ADMIN_PASSWORD, "-b", PEOPLE, "-E", "pr=500/noprompt"]
        command += ["(objectClass=inetOrgPerson)", *attributes]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        figures["ldapsearch_s"] = time.perf_counter() - started
    return figures


# --------------------------------------------------------------------------- the run


@dataclass
class Options:
    users: int
    samples: int
    warm_samples: int
    decisions: int
    actors: int
    ttl: float
    window: float
    sync_runs: int
    seed: int
    skip_sync: bool = False
    setup: dict[str, float] = field(default_factory=dict)


def run(options: Options) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="gateway-bench-ldap-"))
    server: Slapd | None = None
    ldap: LdapDirectory | None = None
    try:
        with phase(f"generating and loading {options.users:,} users with slapadd"):
            started = time.perf_counter()
            server = load_directory(root, options.users)
            options.setup["slapadd_s"] = time.perf_counter() - started
        server.start()
        ldap = LdapDirectory(ldap_settings(server))
        counter = SearchCounter()
        counter.attach(ldap)
        world = World(
            options.users, ldap, counter, PolicyStore(POLICIES), random.Random(options.seed)
        )
        with phase(f"raw look-ups, {options.samples} each"):
            lookups = bench_lookups(world, server, options.samples)
        with phase(f"cold permission checks, {options.samples}"):
            cold = bench_cold(world, options.samples)
        with phase(f"warm permission checks, {options.warm_samples} x 2"):
            warm = bench_warm(world, options.actors, options.warm_samples)
        with phase(f"round trips, {options.decisions:,} decisions x 2"):
            trips = bench_round_trips(
                world, options.decisions, options.actors, options.ttl, options.window
            )
        sync: dict[str, Any] | None = None
        if not options.skip_sync:
            with phase(f"full sync of {options.users:,} users, {options.sync_runs} run(s) each"):
                sync = bench_sync(world, server, options.sync_runs)
    finally:
        if ldap is not None:
            ldap.close()
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return report(options, lookups, cold, warm, trips, sync)


def latency_json(value: Latency) -> dict[str, Any]:
    return {
        "p50_ms": round(value.p50_ms, 3),
        "p99_ms": round(value.p99_ms, 3),
        "count": value.count,
        "allowed": round(value.allowed, 3),
        "notes": value.notes,
    }


def report(
    options: Options,
    lookups: dict[str, Latency],
    cold: dict[str, Latency],
    warm: dict[str, Latency],
    trips: dict[str, Any],
    sync: dict[str, Any] | None,
) -> dict[str, Any]:
    goals: list[dict[str, Any]] = []

    def goal(name: str, value: float, target: float, met: bool, text: str) -> None:
        goals.append(
            {"goal": name, "value": round(value, 3), "target": target, "met": met, "text": text}
        )

    for key in ("mix", "distinct"):
        row = warm[key]
        goal(
            f"warm check p50 <= {GOAL_WARM_MS} ms ({key})",
            row.p50_ms,
            GOAL_WARM_MS,
            row.p50_ms <= GOAL_WARM_MS,
            f"p50 {row.p50_ms:.3f} ms, p99 {row.p99_ms:.3f} ms",
        )
    row = cold["one_lookup"]
    goal(
        f"cold check p50 <= {GOAL_COLD_MS:.0f} ms",
        row.p50_ms,
        GOAL_COLD_MS,
        row.p50_ms <= GOAL_COLD_MS,
        f"p50 {row.p50_ms:.2f} ms, p99 {row.p99_ms:.2f} ms",
    )
    if sync is not None:
        goal(
            f"full sync <= {GOAL_SYNC_S:.0f} s ({sync['users']:,} users)",
            sync["gateway_s"],
            GOAL_SYNC_S,
            sync["gateway_s"] <= GOAL_SYNC_S,
            f"{sync['gateway_s']:.1f} s (naive {sync['naive_s']:.1f} s)",
        )
    for variant in ("targets_actors", "targets_anyone"):
        figures = trips[variant]
        fewer = trips["decisions"] / max(1, figures["calls"])
        goal(
            f">= {GOAL_FEWER_CALLS:.0f}x fewer round trips ({variant.replace('_', ' ')})",
            fewer,
            GOAL_FEWER_CALLS,
            fewer >= GOAL_FEWER_CALLS,
            f"{figures['calls']:,} calls for {trips['decisions']:,} decisions",
        )
    return {
        "machine": f"{platform.platform()}, CPython {platform.python_version()}",
        "config": {
            "users": options.users,
            "samples": options.samples,
            "warm_samples": options.warm_samples,
            "decisions": options.decisions,
            "actors": options.actors,
            "ttl_s": options.ttl,
            "window_s": options.window,
            "sync_runs": options.sync_runs,
            "seed": options.seed,
        },
        "setup_seconds": {key: round(value, 2) for key, value in options.setup.items()},
        "lookups": {key: latency_json(value) for key, value in lookups.items()},
        "cold": {key: latency_json(value) for key, value in cold.items()},
        "warm": {key: latency_json(value) for key, value in warm.items()},
        "round_trips": trips,
        "sync": sync,
        "goals": goals,
    }


def render(figures: dict[str, Any]) -> str:
    config = figures["config"]
    lines = [
        "Identity benchmark (real slapd on loopback, one thread)",
        f"machine: {figures['machine']}",
        f"directory: {config['users']:,} users; {config['samples']} samples per LDAP row, "
        f"{config['warm_samples']} per warm row; "
        f"seed {config['seed']}; slapadd {figures['setup_seconds'].get('slapadd_s', 0):.1f} s",
        "",
        f"{'measurement':<46} {'p50 ms':>8} {'p99 ms':>8} {'allowed':>8}  notes",
    ]
    rows = [
        ("warm facts, Gateway.authorize, distinct", figures["warm"]["distinct"]),
        ("warm facts, Gateway.authorize, repeating mix", figures["warm"]["mix"]),
        ("  the same mix, decide() only", figures["warm"]["mix_decide_only"]),
        ("  the same mix, resolver look-ups only", figures["warm"]["mix_lookup_only"]),
        ("cold facts, Gateway.authorize, 1 look-up", figures["cold"]["one_lookup"]),
        ("cold facts, Gateway.authorize, 2 look-ups", figures["cold"]["two_lookups"]),
        ("LdapDirectory.get_user", figures["lookups"]["get_user"]),
        ("naive plain ldap3 look-up", figures["lookups"]["naive"]),
    ]
    for name, row in rows:
        lines.append(
            f"{name:<46} {row['p50_ms']:>8.3f} {row['p99_ms']:>8.3f} {row['allowed']:>8.0%}  "
            f"{row['notes']}"
        )
    sync = figures["sync"]
    if sync is not None:
        ratio = sync["gateway_s"] / sync["naive_s"]
        lines += [
            "",
            f"full sync, iter_users(), {sync['users']:,} users: {sync['gateway_s']:.2f} s; "
            f"naive plain paged search {sync['naive_s']:.2f} s; gateway/naive {ratio:.1f}x "
            f"(median of {sync['runs']})",
        ]
        if sync["ldapsearch_s"] is not None:
            lines.append(
                f"  reference: OpenLDAP's C client ldapsearch, same search: "
                f"{sync['ldapsearch_s']:.2f} s"
            )
    trips = figures["round_trips"]
    lines += [
        "",
        f"round trips: {trips['decisions']:,} decisions, Zipf over {trips['actors']} actors, "
        f"{trips['window_s']:.0f} simulated s, TTL {trips['ttl_s']:.0f} s",
    ]
    for variant, text in (
        ("targets_actors", "among the actors"),
        ("targets_anyone", "anywhere in directory"),
    ):
        row = trips[variant]
        lines.append(
            f"  account targets {text:<22} {row['calls']:>6,} directory calls "
            f"({row['ldap_searches']:,} LDAP searches) vs {trips['decisions']:,} naive "
            f"= {trips['decisions'] / max(1, row['calls']):.1f}x fewer; "
            f"{row['resolver_lookups']:,} resolver look-ups, {row['distinct_users']} distinct users"
        )
    lines += ["", "goals:"]
    for item in figures["goals"]:
        mark = "met" if item["met"] else "NOT met"
        lines.append(f"  {item['goal']:<52} {item['text']:<40} {mark}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.identity",
        description="Permission checks on warm and cold LDAP facts, full sync and round trips "
        "against a real slapd.",
    )
    parser.add_argument(
        "--users", type=int, default=100_000, metavar="N", help="directory size (default 100000)"
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=500,
        metavar="N",
        help="timed calls per row that goes to LDAP (default 500)",
    )
    parser.add_argument(
        "--warm-samples",
        type=int,
        default=2_000,
        metavar="N",
        help="timed calls per warm-cache row (default 2000)",
    )
    parser.add_argument(
        "--decisions",
        type=int,
        default=2_000,
        metavar="N",
        help="decisions of the round-trip load (default 2000)",
    )
    parser.add_argument(
        "--actors",
        type=int,
        default=500,
        metavar="N",
        help="actors of the round-trip load and the warm rows (default 500)",
    )
    parser.add_argument(
        "--ttl", type=float, default=300.0, metavar="S", help="resolver TTL (default 300 s)"
    )
    parser.add_argument(
        "--window",
        type=float,
        default=600.0,
        metavar="S",
        help="simulated seconds the round-trip load is spread over (default 600; "
        "0: all within one TTL)",
    )
    parser.add_argument(
        "--sync-runs",
        type=int,
        default=1,
        metavar="N",
        help="full syncs timed, gateway and naive each; the median counts (default 1)",
    )
    parser.add_argument("--no-sync", action="store_true", help="skip the full sync")
    parser.add_argument(
        "--seed", type=int, default=20_240_601, help="seed of data and workload (default 20240601)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.users < 1_000:
        parser.error("--users must be at least 1000")
    if min(args.samples, args.warm_samples, args.decisions, args.actors) < 2:
        parser.error("--samples, --warm-samples, --decisions and --actors must be at least 2")
    if args.sync_runs < 1:
        parser.error("--sync-runs must be at least 1")
    if missing() is not None:
        print(f"slapd not found: {INSTALL_HINT}", file=sys.stderr)
        return 2
    options = Options(
        users=args.users,
        samples=args.samples,
        warm_samples=args.warm_samples,
        decisions=args.decisions,
        actors=args.actors,
        ttl=args.ttl,
        window=args.window,
        sync_runs=args.sync_runs,
        seed=args.seed,
        skip_sync=args.no_sync,
    )
    figures = run(options)
    print(json.dumps(figures, indent=2) if args.json else render(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
