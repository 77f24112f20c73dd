"""Decision latency and throughput of the gateway against naive pycasbin + cedarpy.

Run with ``make bench`` (``python -m benchmarks.decisions``); ``--help`` lists the options.

A synthetic, seeded bundle and directory are generated in a temporary directory: 10,000
users in 1,000 groups, the groups mapped to roles (two variants: 200 and 1,000 roles) and
500 Cedar policies.  Every request of the workload is decided by the gateway and by the
naive baseline, timed one call at a time with ``time.perf_counter_ns`` on one thread, and
the two answers must agree (the run exits non-zero on any mismatch).

Naive baseline, exactly:

* Casbin: one ``casbin.Enforcer`` loaded from the same model file and a CSV holding the
  same ``p`` and ``g`` rules plus one ``g, user:ID, group:NAME`` line per membership, so
  Casbin resolves user -> group -> role itself; a check is ``enforce("user:ID", obj, act)``.
* Cedar: ``cedarpy.is_authorized(request, policies_text, entities_json, schema=schema)``
  with the text of all 500 policies on every call (no ``PolicySet`` handle), the parsed
  schema handle of the bundle, and the entities JSON the gateway builds
  (``user_entity``/``resource_entity``).  Allowed means ``allowed`` and no errors.
* Full decision: both calls on every request (the gateway also evaluates both engines on
  every request, to explain it), allowed when both allow.  Each call is timed on its own
  and a request's naive latency is the sum of its two calls, so one naive pass serves the
  component rows and the full-decision rows of both role variants.

Beside them, the competent peer: ``cedarpy.is_authorized`` over one pre-parsed
``PolicySet`` of all the policies (Cedar only, the request's entities parsed per call).
The gateway's engines get the directory's entities parsed once
(``PolicyEngine.load_directory``), except in the *no base* row; 5 % of the cold requests
come from actors whose facts changed after that load.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import casbin
import cedarpy

from gateway.identity.facts import AccountStatus, IdentityFacts, ResourceFacts
from gateway.identity.static import StaticDirectory, StaticDirectoryFile, StaticGroup, StaticUser
from gateway.policy.bundle import PolicyBundle, load_bundle
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.engine import PolicyEngine, rbac_subjects
from gateway.policy.entities import cedar_type, resource_entity, user_entity
from gateway.policy.entity_base import entity_text
from gateway.policy.rbac import Rbac
from gateway.policy.request import AccessRequest

REPO = Path(__file__).resolve().parents[1]
MODEL_FILE = REPO / "policies" / "casbin" / "model.conf"
SCHEMA_FILE = REPO / "policies" / "cedar" / "gateway.cedarschema"

USERS = 10_000
GROUPS = 1_000
ROLE_VARIANTS = (200, 1_000)
POLICIES = 500
SOFTWARE_TITLES = 300
HOSTS = 200
ARTICLES = 200
PRIVILEGED_GROUPS = 10
WARM_POOL = 300  # distinct requests the warm mix repeats
WARMUP_CALLS = 50  # unmeasured calls before each phase
CHANGED_FACTS = 0.05  # share of cold requests whose actor's facts changed after the base load

PEER_ROW = "peer: cedarpy, 1 PolicySet"
GOAL_P50_US = 100.0
GOAL_P99_US = 500.0
GOAL_SPEEDUP = 20.0

# Action -> request resource type, from the schema.
ACTIONS: dict[str, str] = {
    "password.reset": "account",
    "account.unlock": "account",
    "access.grant": "account",
    "access.revoke": "account",
    "software.install": "software",
    "diagnostics.run": "host",
    "kb.publish": "article",
}
PERMISSIONS = [(resource, action) for action, resource in ACTIONS.items()]

DEPARTMENTS = ["IT", "Finance", "Sales", "HR", "Legal", "Engineering", "Support", "Marketing"]
TITLES = ["Analyst", "Engineer", "Manager", "Specialist", "Director", "Associate"]
LOCATIONS = ["HQ", "Berlin", "Austin", "Singapore", "Remote"]
CHANNELS = ["api", "cli", "ticket", "self_service", "chat"]

# Cedar conditions that type-check for each resource type (principal is always User).
PRINCIPAL_CONDITIONS = [
    "principal.mfa_enrolled",
    'principal.department == "IT"',
    'principal.employee_type == "employee"',
    'principal.location == "HQ"',
    "context has ticket",
    'context has channel && context.channel != "chat"',
]
RESOURCE_CONDITIONS: dict[str, list[str]] = {
    "account": [
        "resource.privileged == false",
        "!resource.privileged",
        'resource.status == "active"',
        "resource.owner != principal",
        "resource.owner == principal",
        "resource.department == principal.department",
        'context has channel && context.channel == "ticket"',
    ],
    "software": [
        "resource.approved",
        "resource.approved && !resource.licensed",
        "resource.licensed",
        "context has device",
        'context has channel && context.channel == "self_service"',
    ],
    "host": [],
    "article": [],
}
FORBID_CONDITIONS: dict[str, list[str]] = {
    "account": ["resource.privileged", 'resource.status != "active"'],
    "software": ["!resource.approved", "resource.licensed && !principal.mfa_enrolled"],
    "host": ['principal.employee_type != "employee"'],
    "article": ['principal.employee_type != "employee"'],
}
GLOBAL_POLICIES = [
    '@id("global-inactive-actor")\n@message("the actor\'s account is disabled or suspended")\n'
    "forbid (principal, action, resource)\n"
    'when { principal.status == "disabled" || principal.status == "suspended" };',
    '@id("global-change-freeze")\n@message("non-standard changes are frozen")\n'
    'forbid (principal, action in Action::"nonstandard_change", resource)\n'
    "when { context has change_freeze && context.change_freeze };",
    '@id("global-stale-step-up")\n@message("a step-up older than a day is not accepted")\n'
    "forbid (principal, action, resource)\n"
    "when { context has step_up_age_seconds && context.step_up_age_seconds > 86400 };",
]


def group_name(index: int) -> str:
    return f"g{index:04d}"


def role_name(index: int) -> str:
    return f"role:r{index:04d}"


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class Generated:
    """The synthetic world: one bundle directory per role variant and the directory."""

    bundles: dict[int, Path]  # roles -> bundle root
    naive_rules: dict[int, Path]  # roles -> CSV for the naive enforcer
    policies_text: str
    directory: StaticDirectory
    user_ids: list[str]
    software: list[str]
    hosts: list[str]
    articles: list[str]


def generate_directory(rng: random.Random) -> tuple[StaticDirectoryFile, list[str], list[str]]:
    user_ids = [f"u{index:05d}" for index in range(USERS)]
    statuses = [AccountStatus.ACTIVE] * 94 + [
        AccountStatus.LOCKED,
        AccountStatus.LOCKED,
        AccountStatus.PASSWORD_EXPIRED,
        AccountStatus.PASSWORD_EXPIRED,
        AccountStatus.DISABLED,
        AccountStatus.SUSPENDED,
    ]
    users: dict[str, StaticUser] = {}
    for user_id in user_ids:
        groups = sorted(group_name(g) for g in rng.sample(range(GROUPS), rng.randint(1, 5)))
        manager = rng.choice(user_ids) if rng.random() < 0.9 else None
        users[user_id] = StaticUser(
            display_name=f"User {user_id}",
            email=f"{user_id}@example.com",
            status=rng.choice(statuses),
            groups=groups,
            department=rng.choice(DEPARTMENTS),
            title=rng.choice(TITLES),
            manager=manager if manager != user_id else None,
            location=rng.choice(LOCATIONS),
            employee_type="employee" if rng.random() < 0.9 else "contractor",
            mfa=["totp"] if rng.random() < 0.8 else [],
        )
    software = [f"title-{index:03d}" for index in range(SOFTWARE_TITLES)]
    resources: dict[str, dict[str, Any]] = {
        f"software:{title}": {"approved": rng.random() < 0.85, "licensed": rng.random() < 0.4}
        for title in software
    }
    model = StaticDirectoryFile(
        privileged_groups=[group_name(index) for index in range(PRIVILEGED_GROUPS)],
        groups={group_name(index): StaticGroup() for index in range(GROUPS)},
        users=users,
        resources=resources,
    )
    return model, user_ids, software


def generate_roles(rng: random.Random, roles: int) -> tuple[list[str], list[str]]:
    """``g`` lines (groups -> roles, a little role hierarchy) and ``p`` lines."""
    groupings: list[str] = []
    for index in range(GROUPS):
        assigned = rng.sample(range(roles), 2 if rng.random() < 0.1 else 1)
        groupings.extend(f"g, group:{group_name(index)}, {role_name(r)}" for r in assigned)
    for senior in rng.sample(range(1, roles), roles // 20):
        groupings.append(f"g, {role_name(senior)}, {role_name(rng.randrange(senior))}")
    permissions: list[str] = []
    for index in range(roles):
        for resource, action in rng.sample(PERMISSIONS, rng.randint(1, 3)):
            permissions.append(f"p, {role_name(index)}, {resource}, {action}")
    permissions.append(f"p, {role_name(0)}, *, *")
    permissions.append(f"p, {role_name(1)}, host, *")
    return groupings, permissions


def _condition(rng: random.Random, resource: str) -> str:
    pool = PRINCIPAL_CONDITIONS + RESOURCE_CONDITIONS[resource] * 2
    return rng.choice(pool)


def _random_group(rng: random.Random) -> str:
    return f'Group::"{group_name(rng.randrange(GROUPS))}"'


def generate_policy(rng: random.Random, number: int, action: str) -> str:
    resource = ACTIONS[action]
    entity = cedar_type(resource)
    slug = action.replace(".", "-")
    scope_action = f'action == Action::"{action}"'
    roll = rng.random()
    if roll < 0.15:  # forbid
        kind = rng.random()
        if kind < 0.6:
            scope = f"principal in {_random_group(rng)}, {scope_action}, resource is {entity}"
            condition = rng.choice(FORBID_CONDITIONS[resource])
        elif kind < 0.8:
            scope = f"principal, {scope_action}, resource"
            condition = "context has change_freeze && context.change_freeze"
        else:
            scope = f"principal, {scope_action}, resource is {entity}"
            condition = (
                f"principal in {_random_group(rng)} && {rng.choice(FORBID_CONDITIONS[resource])}"
            )
        return (
            f'@id("{slug}-forbid-{number:03d}")\n'
            f'@message("synthetic forbid {number} on {action}")\n'
            f"forbid ({scope})\nwhen {{ {condition} }};"
        )
    annotations = [f'@id("{slug}-permit-{number:03d}")']
    annotations.append(f'@description("synthetic permit {number} on {action}")')
    if rng.random() < 0.06:
        annotations.append('@step_up("max_age=5m")')
    if rng.random() < 0.05:
        annotations.append('@approval("approvers=manager")')
    kind = rng.random()
    conditions = [_condition(rng, resource) for _ in range(rng.randint(0, 2))]
    if kind < 0.7:
        scope = f"principal in {_random_group(rng)}, {scope_action}, resource is {entity}"
    elif kind < 0.8:
        scope = f"principal, {scope_action}, resource is {entity}"
        conditions.insert(
            0, f"(principal in {_random_group(rng)} || principal in {_random_group(rng)})"
        )
    else:
        scope = f"principal, {scope_action}, resource is {entity}"
        conditions = conditions or [_condition(rng, resource)]
    body = f"\nwhen {{ {' && '.join(conditions)} }}" if conditions else ""
    return "\n".join(annotations) + f"\npermit ({scope}){body};"


def generate(root: Path, seed: int) -> Generated:
    rng = random.Random(seed)
    model, user_ids, software = generate_directory(rng)
    by_action: dict[str, list[str]] = {action: [] for action in ACTIONS}
    for number in range(POLICIES - len(GLOBAL_POLICIES)):
        action = rng.choice(list(ACTIONS))
        by_action[action].append(generate_policy(rng, number, action))
    cedar_files = {"guardrails.cedar": "\n\n".join(GLOBAL_POLICIES) + "\n"}
    for action, texts in by_action.items():
        cedar_files[f"{action.replace('.', '_')}.cedar"] = "\n\n".join(texts) + "\n"
    policies_text = "\n".join(cedar_files.values())
    memberships = [
        f"g, user:{user_id}, group:{group}"
        for user_id, user in model.users.items()
        for group in user.groups
    ]

    bundles: dict[int, Path] = {}
    naive_rules: dict[int, Path] = {}
    for roles in ROLE_VARIANTS:
        bundle = root / f"bundle-{roles}"
        (bundle / "casbin").mkdir(parents=True)
        (bundle / "cedar").mkdir()
        shutil.copyfile(MODEL_FILE, bundle / "casbin" / "model.conf")
        shutil.copyfile(SCHEMA_FILE, bundle / "cedar" / "gateway.cedarschema")
        groupings, permissions = generate_roles(random.Random(seed * 1_000 + roles), roles)
        (bundle / "casbin" / "roles.csv").write_text("\n".join(groupings) + "\n")
        (bundle / "casbin" / "permissions.csv").write_text("\n".join(permissions) + "\n")
        for name, text in cedar_files.items():
            (bundle / "cedar" / name).write_text(text)
        naive = root / f"naive-{roles}.csv"
        naive.write_text("\n".join([*permissions, *groupings, *memberships]) + "\n")
        bundles[roles] = bundle
        naive_rules[roles] = naive
    return Generated(
        bundles=bundles,
        naive_rules=naive_rules,
        policies_text=policies_text,
        directory=StaticDirectory(model),
        user_ids=user_ids,
        software=software,
        hosts=[f"h{index:03d}" for index in range(HOSTS)],
        articles=[f"kb{index:03d}" for index in range(ARTICLES)],
    )


# --------------------------------------------------------------------------- workload


@dataclass(frozen=True, slots=True)
class Case:
    """One request with everything both sides need, prepared outside the timed region."""

    request: AccessRequest
    actor: IdentityFacts
    resource: ResourceFacts | None
    subject: str  # user:ID
    cedar_request: dict[str, Any]  # for naive cedarpy (context as a dict)


def make_case(
    world: Generated,
    actor_id: str,
    action: str,
    target: str,
    context: dict[str, Any],
    changed: str | None = None,
) -> Case:
    resource_type = ACTIONS[action]
    request = AccessRequest.model_validate(
        {
            "actor": actor_id,
            "action": action,
            "resource": f"{resource_type}:{target}",
            "context": context,
        }
    )
    actor = world.directory.get_user(actor_id)
    if changed is not None:  # facts changed since the directory's entities were loaded
        # (attributes only: the naive Casbin reads memberships from its own file)
        actor = actor.model_copy(update={"department": changed, "mfa_factors": ()})
    resource = world.directory.get_resource(resource_type, target)
    return Case(
        request=request,
        actor=actor,
        resource=resource,
        subject=f"user:{actor_id}",
        cedar_request={
            "principal": {"type": "User", "id": actor_id},
            "action": {"type": "Action", "id": action},
            "resource": {"type": cedar_type(resource_type), "id": target},
            "context": context,
        },
    )


def random_request(
    world: Generated, rng: random.Random, ticket: str | None
) -> tuple[str, str, str, dict[str, Any]]:
    actor = rng.choice(world.user_ids)
    action = rng.choice(list(ACTIONS))
    resource = ACTIONS[action]
    if resource == "account":
        target = actor if rng.random() < 0.3 else rng.choice(world.user_ids)
    elif resource == "software":
        target = rng.choice(world.software)
    elif resource == "host":
        target = rng.choice(world.hosts)
    else:
        target = rng.choice(world.articles)
    context: dict[str, Any] = {"channel": rng.choice(CHANNELS)}
    if ticket is not None:
        context["ticket"] = ticket
    elif rng.random() < 0.5:
        context["ticket"] = f"INC-{rng.randrange(100):04d}"
    if rng.random() < 0.05:
        context["change_freeze"] = True
    if rng.random() < 0.3:
        context["step_up_age_seconds"] = rng.choice([30, 240, 3_600, 100_000])
    if resource == "software" and rng.random() < 0.5:
        context["device"] = f"laptop-{rng.randrange(50)}"
    return actor, action, target, context


def cold_workload(world: Generated, rng: random.Random, count: int, prefix: str) -> list[Case]:
    """Every request distinct: a unique ticket in each context; ``CHANGED_FACTS`` of them
    by an actor whose department and MFA enrolment changed after the directory was loaded."""
    return [
        make_case(
            world,
            *random_request(world, rng, f"{prefix}-{index:07d}"),
            changed=rng.choice(DEPARTMENTS) if rng.random() < CHANGED_FACTS else None,
        )
        for index in range(count)
    ]


def warm_workload(world: Generated, rng: random.Random, count: int) -> list[Case]:
    """A repeating mix: ``WARM_POOL`` distinct requests drawn with Zipf-like weights."""
    pool = [make_case(world, *random_request(world, rng, None)) for _ in range(WARM_POOL)]
    weights = [1.0 / (rank + 1) for rank in range(len(pool))]
    return rng.choices(pool, weights=weights, k=count)


# --------------------------------------------------------------------------- measuring


@dataclass
class Stats:
    p50_us: float
    p99_us: float
    per_second: float

    @classmethod
    def of(cls, latencies_ns: list[int]) -> Stats:
        ordered = sorted(latencies_ns)
        count = len(ordered)
        p99_index = max(0, math.ceil(0.99 * count) - 1)
        middle = count // 2
        p50 = ordered[middle] if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2
        return cls(
            p50_us=p50 / 1_000,
            p99_us=ordered[p99_index] / 1_000,
            per_second=count * 1e9 / sum(ordered),
        )


@dataclass
class Row:
    name: str
    workload: str
    gateway: Stats
    naive: Stats
    notes: str = ""

    @property
    def speedup_p50(self) -> float:
        return self.naive.p50_us / self.gateway.p50_us

    @property
    def speedup_p99(self) -> float:
        return self.naive.p99_us / self.gateway.p99_us

    @property
    def speedup_throughput(self) -> float:
        return self.gateway.per_second / self.naive.per_second


@dataclass
class Mismatches:
    checked: int = 0
    allowed: int = 0
    found: list[str] = field(default_factory=list)

    def compare(
        self, label: str, cases: Sequence[Case], ours: list[bool], naive: list[bool]
    ) -> None:
        for case, mine, theirs in zip(cases, ours, naive, strict=True):
            self.checked += 1
            self.allowed += mine
            if mine != theirs:
                request = case.request
                self.found.append(
                    f"{label}: {request.actor} {request.action} {request.resource} "
                    f"{request.context}: gateway={mine} naive={theirs}"
                )


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(
    label: str, cases: Sequence[Case], decide: Callable[[Case], bool]
) -> tuple[list[int], list[bool]]:
    """Time ``decide`` once per case; return the latencies (ns) and the answers."""
    count = len(cases)
    latencies = [0] * count
    answers = [False] * count
    step = max(1, count // 10)
    clock = time.perf_counter_ns
    interactive = sys.stderr.isatty()
    gc.collect()
    started = clock()
    for index, case in enumerate(cases):
        before = clock()
        answers[index] = decide(case)
        latencies[index] = clock() - before
        if interactive and index % step == 0:
            print(f"\r  {label}: {index}/{count}", end="", file=sys.stderr, flush=True)
    elapsed = (clock() - started) / 1e9
    if interactive:
        print("\r", end="", file=sys.stderr)
    progress(f"  {label}: {count} decisions in {elapsed:.1f}s")
    return latencies, answers


def warm_up(cases: Sequence[Case], *decides: Callable[[Case], bool]) -> None:
    for decide in decides:
        for case in cases:
            decide(case)


# --------------------------------------------------------------------------- the run


def naive_enforcer(rules: Path) -> casbin.Enforcer:
    return casbin.Enforcer(str(MODEL_FILE), str(rules))


def engine_in_force(engine: PolicyEngine) -> Callable[[], PolicyEngine]:
    return lambda: engine


def fresh_engine(bundle: PolicyBundle, world: Generated | None = None) -> PolicyEngine:
    """A new engine (empty answer cache) with its policy sets parsed and, given the world,
    the directory's entities parsed once (both one-offs per bundle, outside the timing)."""
    engine = PolicyEngine(bundle)
    for action in ACTIONS:
        engine.cedar.prepare(action)  # parse the per-action policy sets up front, once
    if world is not None:
        engine.load_directory(*directory_entities(world))
    return engine


def directory_entities(
    world: Generated,
) -> tuple[list[IdentityFacts], list[tuple[str, str, ResourceFacts | None]]]:
    """Every user of the directory, and every resource the workload can name."""
    directory = world.directory
    actors = [directory.get_user(user_id) for user_id in world.user_ids]
    named = [("account", user_id) for user_id in world.user_ids]
    named += [("software", title) for title in world.software]
    named += [("host", host) for host in world.hosts] + [("article", a) for a in world.articles]
    resources = [(kind, ident, directory.get_resource(kind, ident)) for kind, ident in named]
    return actors, resources


@dataclass
class NaiveTimes:
    """Per-request latencies and answers of the naive calls, each call timed on its own."""

    casbin_ns: dict[int, list[int]]
    casbin: dict[int, list[bool]]
    cedar_ns: list[int]
    cedar: list[bool]

    def full_ns(self, roles: int) -> list[int]:
        return [a + b for a, b in zip(self.casbin_ns[roles], self.cedar_ns, strict=True)]

    def full(self, roles: int) -> list[bool]:
        return [a and b for a, b in zip(self.casbin[roles], self.cedar, strict=True)]


def naive_pass(
    label: str,
    cases: Sequence[Case],
    enforcers: dict[int, casbin.Enforcer],
    policies_text: str,
    schema: cedarpy.Schema,
) -> NaiveTimes:
    """Each request: ``enforce`` on every enforcer, then entities JSON + ``is_authorized``."""
    count = len(cases)
    times = NaiveTimes(
        {r: [0] * count for r in enforcers},
        {r: [False] * count for r in enforcers},
        [0] * count,
        [False] * count,
    )
    clock = time.perf_counter_ns
    step = max(1, count // 10)
    interactive = sys.stderr.isatty()
    gc.collect()
    started = clock()
    for index, case in enumerate(cases):
        request = case.request
        for roles, enforcer in enforcers.items():
            before = clock()
            allowed = bool(enforcer.enforce(case.subject, request.resource.type, request.action))
            times.casbin_ns[roles][index] = clock() - before
            times.casbin[roles][index] = allowed
        before = clock()
        entities = [
            user_entity(case.actor),
            resource_entity(request.resource.type, request.resource.id, case.resource),
        ]
        result = cedarpy.is_authorized(
            case.cedar_request, policies_text, json.dumps(entities), schema=schema
        )
        allowed = result.allowed and not result.diagnostics.errors
        times.cedar_ns[index] = clock() - before
        times.cedar[index] = allowed
        if interactive and index % step == 0:
            print(f"\r  {label}: {index}/{count}", end="", file=sys.stderr, flush=True)
    elapsed = (clock() - started) / 1e9
    if interactive:
        print("\r", end="", file=sys.stderr)
    progress(f"  {label}: {count} requests in {elapsed:.1f}s")
    return times


def run(requests: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    rows: list[Row] = []
    setup: dict[str, float] = {}
    mismatches = Mismatches()
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as temp:
        started = time.perf_counter()
        world = generate(Path(temp), seed)
        setup["generate_s"] = time.perf_counter() - started
        progress(f"generated {USERS:,} users, {GROUPS:,} groups, {POLICIES} policies")

        bundles: dict[int, PolicyBundle] = {}
        enforcers: dict[int, casbin.Enforcer] = {}
        for roles in ROLE_VARIANTS:
            started = time.perf_counter()
            bundles[roles] = load_bundle(world.bundles[roles])
            setup[f"load_bundle_{roles}_roles_s"] = time.perf_counter() - started
            started = time.perf_counter()
            fresh_engine(bundles[roles])
            setup[f"build_engine_{roles}_roles_s"] = time.perf_counter() - started
            started = time.perf_counter()
            fresh_engine(bundles[roles]).load_directory(*directory_entities(world))
            setup[f"load_directory_{roles}_roles_s"] = time.perf_counter() - started
            started = time.perf_counter()
            enforcers[roles] = naive_enforcer(world.naive_rules[roles])
            setup[f"naive_enforcer_{roles}_roles_s"] = time.perf_counter() - started
        assert len(bundles[ROLE_VARIANTS[0]].policies) == POLICIES
        progress("loaded the bundles and the naive enforcers")

        small = ROLE_VARIANTS[0]
        schema = bundles[small].schema
        warmup = cold_workload(world, rng, WARMUP_CALLS, "W")
        cold = cold_workload(world, rng, requests, "C")
        warm = warm_workload(world, rng, requests)
        distinct_warm = len({(case.request.model_dump_json(), case.actor.id) for case in warm})

        # The naive baseline, once per workload (it has no cache: cold and warm cost alike).
        naive_pass("naive warm-up", warmup, enforcers, world.policies_text, schema)
        naive_cold = naive_pass("naive, cold", cold, enforcers, world.policies_text, schema)
        naive_warm = naive_pass(
            "naive, warm", warm, {small: enforcers[small]}, world.policies_text, schema
        )

        # Casbin alone: the gateway's role check for the actor's subjects.
        for roles in ROLE_VARIANTS:
            rbac = fresh_engine(bundles[roles]).rbac

            def gateway_casbin(case: Case, rbac: Rbac = rbac) -> bool:
                request = case.request
                subjects = rbac_subjects(case.actor)
                return rbac.check(subjects, request.resource.type, request.action).allowed

            warm_up(warmup, gateway_casbin)
            latencies, answers = measure(f"gateway casbin, {roles} roles", cold, gateway_casbin)
            mismatches.compare(f"casbin/{roles}", cold, answers, naive_cold.casbin[roles])
            rows.append(
                Row(
                    f"casbin only, {roles} roles",
                    "cold",
                    Stats.of(latencies),
                    Stats.of(naive_cold.casbin_ns[roles]),
                )
            )

        # The competent peer: cedarpy over one pre-parsed PolicySet of all the policies and
        # the schema handle, the request's entities parsed per call (Cedar only, no Casbin).
        every_policy = cedarpy.PolicySet.from_str(world.policies_text)

        def peer_cedar(case: Case) -> bool:
            request = case.request
            entities = [
                user_entity(case.actor),
                resource_entity(request.resource.type, request.resource.id, case.resource),
            ]
            result = cedarpy.is_authorized(
                case.cedar_request, every_policy, json.dumps(entities), schema=schema
            )
            return result.allowed and not result.diagnostics.errors

        warm_up(warmup, peer_cedar)
        latencies, answers = measure("peer: cedarpy, one pre-parsed policy set", cold, peer_cedar)
        mismatches.compare("peer", cold, answers, naive_cold.cedar)
        peer = Row(PEER_ROW, "cold", Stats.of(latencies), Stats.of(naive_cold.cedar_ns))
        rows.append(peer)

        # Cedar alone: entity texts + the gateway's per-action policy slice split by principal
        # scope and context guards, the directory's entities parsed once, no answer cache.
        cedar = fresh_engine(bundles[small], world).cedar

        def gateway_cedar(case: Case) -> bool:
            request = case.request
            texts = (
                entity_text(user_entity(case.actor)),
                entity_text(
                    resource_entity(request.resource.type, request.resource.id, case.resource)
                ),
            )
            outcome = cedar.evaluate(
                request.action,
                case.cedar_request["principal"],
                case.cedar_request["resource"],
                json.dumps(request.context, sort_keys=True, separators=(",", ":")),
                f"[{','.join(texts)}]",
                principal_groups=case.actor.groups,
                entity_texts=texts,
            )
            return outcome.allowed

        warm_up(warmup, gateway_cedar)
        latencies, answers = measure("gateway cedar, no cache", cold, gateway_cedar)
        mismatches.compare("cedar", cold, answers, naive_cold.cedar)
        rows.append(
            Row("cedar only, no cache", "cold", Stats.of(latencies), Stats.of(naive_cold.cedar_ns))
        )

        # Full decisions through PolicyDecisionPoint.decide, a fresh engine (empty cache) each.
        # The directory's entities are loaded into each engine but one: that phase parses
        # every request's own entities, as an engine nobody loaded a directory into does.
        phases = [(small, "cold", cold, naive_cold, True), (small, "warm", warm, naive_warm, True)]
        phases += [(small, "cold", cold, naive_cold, False)]
        phases += [(roles, "cold", cold, naive_cold, True) for roles in ROLE_VARIANTS[1:]]
        for roles, workload, cases, naive, loaded in phases:
            engine = fresh_engine(bundles[roles], world if loaded else None)
            point = PolicyDecisionPoint(engine_in_force(engine))
            name = f"full decision, {roles} roles" if loaded else f"full, {roles} roles, no base"

            def gateway_full(case: Case, point: PolicyDecisionPoint = point) -> bool:
                return point.decide(case.request, case.actor, case.resource).allowed

            warm_up(warmup, gateway_full)  # distinct tickets: no cache entry the phase can hit
            latencies, answers = measure(f"gateway {name}, {workload}", cases, gateway_full)
            mismatches.compare(f"{name}/{workload}", cases, answers, naive.full(roles))
            allows = [ns for ns, ok in zip(latencies, answers, strict=True) if ok]
            denies = [ns for ns, ok in zip(latencies, answers, strict=True) if not ok]
            notes = ", ".join(
                f"{kind} p50 {Stats.of(part).p50_us:.0f} µs ({len(part)})"
                for kind, part in (("allow", allows), ("deny", denies))
                if part
            )
            if workload == "warm":
                hits = 1 - distinct_warm / len(cases)
                notes += f"; {distinct_warm} distinct requests, answer cache hit rate {hits:.0%}"
            rows.append(
                Row(
                    name,
                    workload,
                    Stats.of(latencies),
                    Stats.of(naive.full_ns(roles)),
                    notes,
                )
            )
        allow_rate = sum(naive_cold.full(small)) / len(cold)

    return {
        "machine": machine(),
        "config": {
            "users": USERS,
            "groups": GROUPS,
            "roles": list(ROLE_VARIANTS),
            "cedar_policies": POLICIES,
            "requests": requests,
            "warm_distinct_requests": distinct_warm,
            "seed": seed,
        },
        "setup_seconds": {key: round(value, 3) for key, value in setup.items()},
        "results": [row_json(row) for row in rows],
        "equivalence": {
            "checked": mismatches.checked,
            "allow_rate_cold": round(allow_rate, 3),
            "mismatches": len(mismatches.found),
            "examples": mismatches.found[:10],
        },
        "goals": goals(rows),
    }


def machine() -> dict[str, str]:
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cedarpy": _version("cedarpy"),
        "pycasbin": _version("pycasbin"),
    }


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def row_json(row: Row) -> dict[str, Any]:
    def stats(value: Stats) -> dict[str, float]:
        return {
            "p50_us": round(value.p50_us, 1),
            "p99_us": round(value.p99_us, 1),
            "per_second": round(value.per_second, 1),
        }

    return {
        "name": row.name,
        "workload": row.workload,
        "gateway": stats(row.gateway),
        "naive": stats(row.naive),
        "speedup_p50": round(row.speedup_p50, 1),
        "speedup_p99": round(row.speedup_p99, 1),
        "speedup_throughput": round(row.speedup_throughput, 1),
        "notes": row.notes,
    }


def goals(rows: list[Row]) -> list[dict[str, Any]]:
    """The issue's goals, judged on every full-decision row."""
    judged: list[dict[str, Any]] = []
    for row in rows:
        if not row.name.startswith("full decision"):
            continue
        label = f"{row.name}, {row.workload}"
        judged.append(
            {
                "goal": f"p50 <= {GOAL_P50_US:.0f} us",
                "row": label,
                "value": round(row.gateway.p50_us, 1),
                "met": row.gateway.p50_us <= GOAL_P50_US,
            }
        )
        judged.append(
            {
                "goal": f"p99 <= {GOAL_P99_US:.0f} us",
                "row": label,
                "value": round(row.gateway.p99_us, 1),
                "met": row.gateway.p99_us <= GOAL_P99_US,
            }
        )
        speedup = min(row.speedup_p50, row.speedup_throughput)
        judged.append(
            {
                "goal": f">= {GOAL_SPEEDUP:.0f}x naive (p50 and throughput)",
                "row": label,
                "value": round(speedup, 1),
                "met": speedup >= GOAL_SPEEDUP,
            }
        )
    return judged


def render(report: dict[str, Any]) -> str:
    config = report["config"]
    host = report["machine"]
    lines = [
        "Gateway decision benchmark (in-process, one thread)",
        f"machine: {host['platform']} ({host['processor']}), {host['python']}, "
        f"cedarpy {host['cedarpy']}, pycasbin {host['pycasbin']}",
        f"data: {config['users']:,} users, {config['groups']:,} groups, roles {config['roles']}, "
        f"{config['cedar_policies']} Cedar policies; {config['requests']:,} requests per phase, "
        f"seed {config['seed']}",
        "",
    ]
    header = (
        f"{'measurement':<30} {'load':<5} {'gw p50':>8} {'gw p99':>8} {'gw dec/s':>10} "
        f"{'nv p50':>9} {'nv p99':>9} {'nv dec/s':>9} {'x p50':>6} {'x p99':>6} {'x dec/s':>7}"
    )
    lines += [header, "-" * len(header)]
    for row in report["results"]:
        ours, theirs = row["gateway"], row["naive"]
        lines.append(
            f"{row['name']:<30} {row['workload']:<5} {ours['p50_us']:>8.1f} {ours['p99_us']:>8.1f} "
            f"{ours['per_second']:>10,.0f} {theirs['p50_us']:>9.1f} {theirs['p99_us']:>9.1f} "
            f"{theirs['per_second']:>9,.0f} {row['speedup_p50']:>6.1f} {row['speedup_p99']:>6.1f} "
            f"{row['speedup_throughput']:>7.1f}"
        )
    lines.append(
        "latencies in µs; gw = gateway, nv = naive pycasbin + cedarpy; x = naive / gateway"
    )
    for row in report["results"]:
        if row["notes"]:
            lines.append(f"{row['name']}, {row['workload']}: {row['notes']}")
    equivalence = report["equivalence"]
    lines += [
        "",
        f"equivalence: {equivalence['checked']:,} answers compared, "
        f"{equivalence['mismatches']} mismatches; "
        f"allow rate (cold, {config['roles'][0]} roles) {equivalence['allow_rate_cold']:.0%}",
        "",
        "goals:",
    ]
    for goal in report["goals"]:
        mark = "met" if goal["met"] else "NOT met"
        lines.append(f"  {goal['goal']:<36} {goal['row']:<32} {goal['value']:>9}  {mark}")
    for row in report["results"]:
        if row["name"] == PEER_ROW:
            peer = row["gateway"]
            lines.append(
                f"  beside them, the competent peer (cedarpy over one pre-parsed policy set, "
                f"Cedar only, entities parsed per call): p50 {peer['p50_us']:.1f} µs, "
                f"p99 {peer['p99_us']:.1f} µs"
            )
    setup = ", ".join(f"{key} {value}" for key, value in report["setup_seconds"].items())
    lines += ["", f"setup (s): {setup}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.decisions",
        description="Decision latency and throughput of the gateway against naive Casbin + Cedar.",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=1_000,
        metavar="N",
        help="requests per phase (default: 1000)",
    )
    parser.add_argument(
        "--seed", type=int, default=20_240_601, help="seed of the synthetic data and workload"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON instead of a table"
    )
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    report = run(args.requests, args.seed)
    print(json.dumps(report, indent=2) if args.json else render(report))
    if report["equivalence"]["mismatches"]:
        for example in report["equivalence"]["examples"]:
            progress(f"MISMATCH {example}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
