"""Impact analysis over a large audit log, and the signature check of a bundle reload.

Run with ``python -m benchmarks.policy_impact [--records N] [--json]`` (``make bench``).

**The log.**  A signed, hash-chained audit log of N decision records (default 1,000,000)
made by the shipped bundle (``policies/``) for 5,000 people cloned from the policy tests'
directory (helpdesk, field technicians, IT admins, staff), each record keeping the facts it
was decided on (``payload["facts"]``).  Requests: own and others' password resets, account
unlocks, access grants, software installs, knowledge-base publishing, from three channels,
people drawn with a skewed (Zipf-like) weight as real traffic is.  Every record is sealed
for real (Ed25519, canonical JSON, chain), which takes minutes for a million records, so
the lines are written once into a temporary file named after the record count and reused
by later runs, even after the bundle changed (``--regenerate`` writes it again).

**Impact.**  ``analyse_impact(read_decision_log(...))`` against a candidate that tightens
password resets (only the helpdesk may reset; see ``gateway demo``), timed end to end on
one thread: reading the lines, the origin check, replaying on recorded facts with the
decision cache (equal requests decided once), grouping the changes.  The distinct-request
count is reported.  Naive baseline: the same replay without the cache (every record
decided by the candidate), timed on the first 20,000 records; and the strict record
parser the verifier uses (``parse_record``) instead of the impact reader, on 20,000 lines.

**Reload.**  ``BundleTrust.check`` of the shipped bundle (reading the signature files,
counting trusted signers, Ed25519 verification) with 1 and 3 signers, median of 200; the
bundle digest (hashing the files) is timed apart, since every reload computes it anyway.

**Decision records.**  What keeping the facts costs a decision record: building
``decision_event`` and sealing the record, with and without ``facts``, and the line size.

Goals: impact >= 20,000 decisions/s; signature check <= 5 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from gateway.audit.keys import Signer, init_keys, load_signer
from gateway.audit.records import AuditEvent, AuditRecord, parse_record, seal_record
from gateway.cli.policy_sealed import open_sealed_facts
from gateway.enforcement.point import decision_event
from gateway.identity.static import StaticDirectory, StaticDirectoryFile, StaticUser
from gateway.policy.bundle import bundle_digest, load_bundle
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.engine import PolicyEngine
from gateway.policy.impact import analyse_impact
from gateway.policy.impact_log import read_decision_log
from gateway.policy.recorded_facts import read_recorded_facts, recorded_facts
from gateway.policy.request import AccessRequest
from gateway.policy.signatures import sign_digest, write_signature
from gateway.policy.trust import BundleTrust, TrustedKey
from gateway.privacy.envelope import seal_value
from gateway.privacy.keystore import DataKeyStore

REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / "policies"
PEOPLE = 5_000
SEED = 20261207
GOAL_PER_SECOND = 20_000
GOAL_CHECK_MS = 5.0
NAIVE_RECORDS = 20_000
SEALED_RECORDS = 5_000
LOG_FORMAT = 1  # change it when the generated log changes: the cached file is made again
TIGHTER = """
@id("password-resets-by-the-helpdesk-only")
@message("password resets go through the helpdesk")
forbid (principal, action == Action::"password.reset", resource)
unless { principal in Group::"helpdesk" };
"""
TEMPLATES = ("alice", "hank", "tara", "ivan", "mona", "nomfa", "otto")
CHANNELS = ("cli", "api", "self_service")


def directory() -> StaticDirectory:
    """The policy tests' directory plus PEOPLE people cloned from a few of its own."""
    text = (POLICIES / "tests" / "directory.yaml").read_text(encoding="utf-8")
    model = StaticDirectoryFile.model_validate(yaml.safe_load(text))
    users: dict[str, StaticUser] = dict(model.users)
    for n in range(PEOPLE):
        template = model.users[TEMPLATES[n % len(TEMPLATES)]]
        users[f"p{n:05d}"] = template.model_copy(update={"manager": "mona"})
    return StaticDirectory(model.model_copy(update={"users": users}))


def _someone(rng: random.Random) -> str:
    """A person, the frequent callers far more often than the rest."""
    return f"p{min(int(rng.paretovariate(0.8)) - 1, PEOPLE - 1):05d}"


def workload(rng: random.Random) -> tuple[str, str, str, dict[str, Any]]:
    """One request: people act on themselves; helpdesk, technicians and admins (every
    fourth person of seven templates) also act on the people who call them."""
    person = _someone(rng)
    if int(person[1:]) % len(TEMPLATES) in (1, 2, 3) and rng.random() < 0.7:
        action = rng.choice(["password.reset", "account.unlock", "access.grant"])
        return person, action, f"account:{_someone(rng)}", {"channel": "cli"}
    action, resource, channel = rng.choice(
        [
            ("password.reset", f"account:{person}", "self_service"),
            ("password.reset", f"account:{person}", "self_service"),
            ("account.unlock", f"account:{person}", "self_service"),
            ("software.install", f"software:{rng.choice(['visio', '7zip', 'torrent'])}", "api"),
            ("kb.publish", f"article:a{rng.randrange(20)}", "api"),
        ]
    )
    return person, action, resource, {"channel": channel}


def generate_log(path: Path, signer: Signer, records: int) -> int:
    """Write ``records`` decision records as the bundle in force decided them; return the
    number of distinct requests."""
    people = directory()
    in_force = PolicyEngine(load_bundle(POLICIES))
    pdp = PolicyDecisionPoint(lambda: in_force)
    rng = random.Random(SEED)
    payloads: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    prev = "0" * 64
    started = time.perf_counter()
    with path.open("wb") as out:
        for seq in range(records):
            actor, action, resource, context = workload(rng)
            key = (actor, action, resource, context["channel"])
            template = payloads.get(key)
            if template is None:
                request = AccessRequest(
                    actor=actor, action=action, resource=resource, context=context
                )
                facts = people.get_user(actor)
                kind, _, ident = resource.partition(":")
                found = people.get_resource(kind, ident)
                decision = pdp.decide(request, facts, found)
                template = payloads[key] = decision_event(
                    decision, recorded_facts(facts, found)
                ).model_dump()
            sealed = seal_record(
                _event(template, seq), seq=seq, prev=prev, time=_time(seq), signer=signer
            )
            out.write(sealed.line + b"\n")
            prev = sealed.hash
            if seq and seq % 100_000 == 0:
                elapsed = time.perf_counter() - started
                print(f"  generated {seq:,} records in {elapsed:.0f}s", file=sys.stderr)
    return len(payloads)


def _event(template: dict[str, Any], seq: int) -> AuditEvent:
    return AuditEvent.model_construct(**{**template, "decision_id": f"bench-{seq}"})


def _time(seq: int) -> str:
    day, rest = divmod(seq, 86_400 * 10)
    seconds = rest // 10
    return (
        f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T{seconds // 3600:02d}:"
        f"{seconds // 60 % 60:02d}:{seconds % 60:02d}.{seq % 10:06d}Z"
    )


def cached_log(records: int, regenerate: bool) -> tuple[Path, Signer, int, float]:
    """The cached log for ``records`` (made when missing), its key, the distinct requests
    and the seconds it took to generate (0 when reused)."""
    # The log stays valid when the bundle changes afterwards (real logs hold decisions of
    # older bundles too), so the name depends only on its format and size.
    stamp = hashlib.sha256(f"{LOG_FORMAT}:{records}".encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"gateway-bench-policy-impact-{stamp}"
    log, meta = folder / "audit.log", folder / "meta.json"
    if regenerate and folder.exists():
        shutil.rmtree(folder)
    if meta.exists():
        return (
            log,
            load_signer(folder / "audit-signing.key"),
            json.loads(meta.read_text())["distinct"],
            0.0,
        )
    folder.mkdir(parents=True, exist_ok=True)
    _, _, signer = init_keys(folder, force=True)
    started = time.perf_counter()
    distinct = generate_log(log, signer, records)
    seconds = time.perf_counter() - started
    meta.write_text(json.dumps({"distinct": distinct, "records": records}))
    return log, signer, distinct, seconds


def candidate(folder: Path) -> Path:
    target = folder / "candidate"
    shutil.copytree(POLICIES, target, ignore=shutil.ignore_patterns("signatures"))
    (target / "cedar" / "tighter.cedar").write_text(TIGHTER)
    return target


def median_ms(call: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - started)
    return statistics.median(times) / 1e6


def impact(
    log: Path, signer: Signer, engine: PolicyEngine, people: StaticDirectory
) -> dict[str, Any]:
    started, cpu = time.perf_counter(), time.process_time()
    report = analyse_impact(read_decision_log(log, signer.public_key), engine, people)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    lines = sum(1 for _ in read_decision_log(log, signer.public_key))
    reading = time.perf_counter() - started
    return {
        "records": report.replayed + report.not_replayable,
        "replayed": report.replayed,
        "not_replayable": report.not_replayable,
        "distinct_requests": report.distinct_requests,
        "changed": sum(group.count for group in report.groups),
        "seconds": round(seconds, 2),
        "per_second": round(report.replayed / seconds),
        "cpu_seconds": round(cpu, 2),
        "per_cpu_second": round(report.replayed / cpu),
        "reading_only_per_second": round(lines / reading),
    }


def naive(log: Path, bundle: Path) -> dict[str, Any]:
    """Every record decided by the candidate (no cache), and the strict parser."""
    engine = PolicyEngine(load_bundle(bundle))  # its own Cedar cache, empty
    pdp = PolicyDecisionPoint(lambda: engine)
    with log.open("rb") as handle:
        lines = [handle.readline().rstrip(b"\n") for _ in range(NAIVE_RECORDS)]
    started = time.perf_counter()
    records: list[AuditRecord] = [parse_record(line, n) for n, line in enumerate(lines)]
    strict = time.perf_counter() - started
    started = time.perf_counter()
    for record in records:
        request = AccessRequest(
            actor=str(record.actor),
            action=str(record.action),
            resource=str(record.resource),
            context=record.payload["context"],
        )
        ref = request.resource
        facts = read_recorded_facts(record.payload["facts"], ref.type, ref.id)
        if facts is not None:
            pdp.decide(request, *facts)
    uncached = time.perf_counter() - started
    return {
        "records": len(lines),
        "uncached_replay_per_second": round(len(lines) / uncached),
        "strict_parse_per_second": round(len(lines) / strict),
    }


def reload_check(folder: Path) -> dict[str, Any]:
    bundle = folder / "signed"
    shutil.copytree(POLICIES, bundle, ignore=shutil.ignore_patterns("signatures"))
    digest = bundle_digest(bundle)
    signers = [Signer.generate() for _ in range(3)]
    for n, signer in enumerate(signers):
        write_signature(bundle, sign_digest(signer, f"security-{n}", digest))
    keys = tuple(TrustedKey(f"security-{n}", s.public_key) for n, s in enumerate(signers))
    one = BundleTrust(keys[:1], 1)
    three = BundleTrust(keys, 2)
    if not (one.check(bundle, digest).ok and three.check(bundle, digest).ok):
        raise SystemExit("the signed bundle does not check")
    return {
        "check_1_key_ms": round(median_ms(lambda: one.check(bundle, digest), 200), 3),
        "check_3_keys_threshold_2_ms": round(
            median_ms(lambda: three.check(bundle, digest), 200), 3
        ),
        "bundle_digest_ms": round(median_ms(lambda: bundle_digest(bundle), 50), 3),
    }


def record_cost() -> dict[str, Any]:
    people = directory()
    in_force = PolicyEngine(load_bundle(POLICIES))
    pdp = PolicyDecisionPoint(lambda: in_force)
    request = AccessRequest(actor="p00001", action="password.reset", resource="account:p00001")
    actor, resource = people.get_user("p00001"), people.get_resource("account", "p00001")
    decision = pdp.decide(request, actor, resource)
    signer = Signer.generate()
    figures: dict[str, Any] = {}
    for name, facts in (("without_facts", None), ("with_facts", "yes")):

        def record(facts: object = facts) -> AuditRecord:
            kept = recorded_facts(actor, resource) if facts else None
            event = decision_event(decision, kept)
            return seal_record(event, seq=1, prev="0" * 64, time=_time(1), signer=signer)

        figures[f"{name}_us"] = round(median_ms(record, 2000) * 1000, 1)
        figures[f"{name}_bytes"] = len(record().line)
    figures["recorded_facts_us"] = round(
        median_ms(lambda: recorded_facts(actor, resource), 5000) * 1000, 2
    )
    return figures


def sealed_cost(folder: Path) -> dict[str, Any]:
    """Opening sealed facts (``[privacy] seal``) before replay: per record, 5,000 records of
    50 people (one data key each, looked up once)."""
    people = directory()
    facts = recorded_facts(people.get_user("p00001"), people.get_resource("account", "p00001"))
    now = datetime.now(UTC)
    records = []
    with DataKeyStore(folder / "keys.sqlite") as keys:
        for n in range(SEALED_RECORDS):
            kid, key = keys.key_for(f"p{n % 50:05d}", "decision", "2026-12", now)
            sealed = seal_value(facts, key=key, kid=kid, event_type="decision",
                                field="payload.facts")  # fmt: skip
            payload = {"facts": sealed}
            records.append(AuditRecord(n, _time(n), "0" * 64, "decision", "p", "a", "r", None,
                                       None, payload, (), "0" * 16, b"", b""))  # fmt: skip
    started = time.perf_counter()
    opened = list(open_sealed_facts(records, folder / "keys.sqlite"))
    seconds = time.perf_counter() - started
    if opened[-1].payload["facts"] != facts:
        raise SystemExit("sealed facts did not open")
    return {"open_sealed_facts_us": round(seconds / SEALED_RECORDS * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.policy_impact",
        description="Impact analysis over a large audit log; the reload signature check.",
    )
    parser.add_argument("--records", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--regenerate", action="store_true", help="write the log again")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    log, signer, distinct, generated = cached_log(args.records, args.regenerate)
    with tempfile.TemporaryDirectory() as folder:
        bundle = candidate(Path(folder))
        engine = PolicyEngine(load_bundle(bundle))
        results = {
            "log": {
                "path": str(log),
                "records": args.records,
                "distinct_requests": distinct,
                "generated_seconds": round(generated),
            },
            "impact": impact(log, signer, engine, directory()),
            "naive": naive(log, bundle),
            "reload": reload_check(Path(folder)),
            "decision_record": record_cost(),
            "sealed": sealed_cost(Path(folder)),
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    i, n, r, d = results["impact"], results["naive"], results["reload"], results["decision_record"]
    verdict = "meets" if i["per_second"] >= GOAL_PER_SECOND else "MISSES"
    print(f"impact over {i['records']:,} records ({i['distinct_requests']:,} distinct requests, "
          f"{i['changed']:,} changed): {i['seconds']}s, {i['per_second']:,} decisions/s "
          f"(CPU time {i['cpu_seconds']}s, {i['per_cpu_second']:,}/s) "
          f"({verdict} the goal of {GOAL_PER_SECOND:,}/s)")  # fmt: skip
    ratio = i["per_second"] / n["uncached_replay_per_second"]
    print(f"  reading alone {i['reading_only_per_second']:,} records/s; naive (no cache) "
          f"{n['uncached_replay_per_second']:,}/s, x{ratio:.1f}; "
          f"strict parser {n['strict_parse_per_second']:,} lines/s")  # fmt: skip
    check = max(r["check_1_key_ms"], r["check_3_keys_threshold_2_ms"])
    met = "meets" if check <= GOAL_CHECK_MS else "MISSES"
    print(f"signature check on reload: 1 key {r['check_1_key_ms']} ms, 3 keys (threshold 2) "
          f"{r['check_3_keys_threshold_2_ms']} ms ({met} "
          f"the goal of {GOAL_CHECK_MS} ms); bundle digest {r['bundle_digest_ms']} ms")  # fmt: skip
    print(f"decision record: {d['without_facts_us']} us / {d['without_facts_bytes']} bytes without "
          f"facts, {d['with_facts_us']} us / {d['with_facts_bytes']} bytes with facts "
          f"(recorded_facts {d['recorded_facts_us']} us)")  # fmt: skip
    print(f"opening sealed facts before replay: {results['sealed']['open_sealed_facts_us']} us "
          "per record")  # fmt: skip


if __name__ == "__main__":
    main()
