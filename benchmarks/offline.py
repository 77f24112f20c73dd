"""Field kit speed: preparing a kit, deciding offline, verifying and merging a segment.

Run with ``python -m benchmarks.offline`` (``--json`` for the figures).

* **Prepare**: a kit for a site of 500 people and 1,000 devices, picked from a directory
  of 5,000 people and 10,000 devices (decision, enrolment record, snapshot, signature,
  file), median of 5; against the naive kit that ships the whole directory and inventory.
* **Offline decision**: ``OfflineGateway.authorize`` with the kit's bundle and facts, p50
  and p99 over 2,000 decisions; the decision alone (the decision point on the kit's facts)
  and with its durable append to the segment (an ``fsync`` each, as every decision has).
* **Verify and merge**: a 10,000-record segment verified (parse, chain, device key
  signature, times, digest) and merged as a sub-log (``offline.record`` batches of up to 500
  lines each, one central signature per batch, one group commit), median of 3, records/s,
  its lines checked by a process pool on every core (the first merge, which starts the
  pool, reported apart); interleaved run by run, the same merge checking every line in this
  process and the former merge (one central ``offline.record`` per line); against the naive
  merge appending each record on its own (one ``fsync`` each).
* **Sync against a long central log**: a small segment (100 records, 10 of them queued
  actions) synced into central logs of increasing length (``--central``), median of 3, then
  the kit's next 100 records synced into the same log: the first sync of a host reads the
  whole central log (the kit's merged records, the central changes that conflict) into its
  summary (``gateway.offline.central``), the next reads only the records appended since.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.app.gateway import Gateway
from gateway.app.offline import OfflineGateway, offline_config, open_kit
from gateway.audit.canonical import canonical_bytes
from gateway.audit.keys import init_keys, load_signer
from gateway.audit.records import AuditEvent, parse_record, seal_record
from gateway.audit.segments import ACTION_QUEUED, MERGE_BATCH
from gateway.config import GatewayConfig
from gateway.devices.inventory import Device, InventoryFile
from gateway.identity.static import StaticDirectoryFile, StaticGroup, StaticUser
from gateway.offline import parallel
from gateway.offline.kit import Kit
from gateway.offline.prepare import KitSources, prepare_kit
from gateway.offline.sync import merge_segment
from gateway.policy.request import AccessRequest

REPO = Path(__file__).resolve().parents[1]
GOAL_PREPARE_S = 2.0
GOAL_DECISION_MS = 1.0
GOAL_MERGE_PER_S = 5_000.0


def _directory(people: int, site_people: int) -> StaticDirectoryFile:
    users = {
        f"user{n}": StaticUser(
            display_name=f"User {n}", email=f"user{n}@example.com", department="Sales",
            groups=["sales"], manager="omar",
            location="branch-7" if n < site_people else f"branch-{n % 50 + 8}",
        )
        for n in range(people)
    }  # fmt: skip
    users["elena"] = StaticUser(display_name="Elena", groups=["helpdesk"], manager="omar")
    users["omar"] = StaticUser(display_name="Omar", groups=["it-admins"])
    groups = {name: StaticGroup(member_of=["staff"]) for name in ("sales", "helpdesk")}
    groups["it-admins"] = StaticGroup(member_of=["staff"])
    return StaticDirectoryFile(privileged_groups=["domain-admins"], groups=groups, users=users)


def _inventory(people: int) -> InventoryFile:
    return InventoryFile(
        devices={f"dev{n}": Device(owner=f"user{n % people}") for n in range(people * 2)}
    )


def _config(folder: Path) -> GatewayConfig:
    init_keys(folder / "keys")
    return (
        GatewayConfig()
        .resolved(folder)
        .model_copy(
            update={"policy": GatewayConfig().policy.model_copy(update={"dir": REPO / "policies"})}
        )
    )


def bench_prepare(folder: Path, runs: int = 5) -> tuple[dict[str, float], Path]:
    config = _config(folder)
    gateway = Gateway.from_config(config)  # the central gateway
    directory, inventory = _directory(5_000, 500), _inventory(5_000)
    sources = KitSources(
        bundle=gateway.policies.engine.bundle,
        directory=directory,
        inventory=inventory,
        workflows=REPO / "automations/workflows",
        trees=REPO / "automations/troubleshooting",
        central_actions=tuple(config.offline.central_actions),
        max_valid=timedelta(hours=168),
    )
    assert gateway.audit is not None
    times, kit_path = [], folder / "kit.kit.json"
    for _ in range(runs):
        start = time.perf_counter()
        prepared = prepare_kit(
            gateway, gateway.audit, sources, technician="elena", site="branch-7",
            valid=timedelta(hours=72), actor="elena", now=datetime.now(UTC), out=kit_path,
        )  # fmt: skip
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    naive = canonical_bytes(
        {
            "directory": directory.model_dump(mode="json"),
            "devices": inventory.model_dump(mode="json"),
        }
    )
    naive_s = time.perf_counter() - start
    gateway.close()
    return {
        "prepare_s": statistics.median(times),
        "people": prepared.people,
        "devices": prepared.devices,
        "kit_bytes": kit_path.stat().st_size,
        "naive_whole_directory_bytes": len(naive),
        "naive_serialise_s": naive_s,
    }, kit_path


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]


def bench_decisions(folder: Path, kit_path: Path, count: int = 2_000) -> dict[str, float]:
    config = offline_config(_config_of(folder), kit_path, datetime.now(UTC))
    gateway = OfflineGateway.from_config(config)
    request = AccessRequest(actor="elena", action="diagnostics.run", resource="host:dev1")
    actor = gateway.directory.get_user("elena")
    bare, audited = [], []
    for _ in range(count):
        start = time.perf_counter()
        gateway.decision_point.decide(request, actor, None)
        bare.append((time.perf_counter() - start) * 1000)
    for _ in range(count):
        start = time.perf_counter()
        gateway.authorize(request)
        audited.append((time.perf_counter() - start) * 1000)
    gateway.close()
    (bare50, bare99), (full50, full99) = _percentiles(bare), _percentiles(audited)
    return {"decide_p50_ms": bare50, "decide_p99_ms": bare99,
            "authorize_p50_ms": full50, "authorize_p99_ms": full99}  # fmt: skip


def _config_of(folder: Path) -> GatewayConfig:
    return (
        GatewayConfig()
        .resolved(folder)
        .model_copy(
            update={"policy": GatewayConfig().policy.model_copy(update={"dir": REPO / "policies"})}
        )
    )


def _segment(kit: Kit, records: int, queued: int = 0, visits: int = 1) -> bytes:
    """``records`` offline decisions, the last ``queued`` of them queued password resets
    (``visits`` times over, one chain: split it to sync each visit's records apart)."""
    signer, prev = kit.device_signer(), kit.body.checkpoint.head_hash
    lines = []
    for index in range(records * visits):
        moment = kit.issued + timedelta(seconds=1 + index // 100)
        event = AuditEvent(
            type="decision", actor="elena", action="diagnostics.run", resource=f"host:dev{index}",
            decision_id=f"{index:032x}", policy_digest=kit.body.policy.digest,
            payload={"decision": "allow", "context": {"offline": True}},
        )  # fmt: skip
        if index % records >= records - queued:
            event = AuditEvent(
                type=ACTION_QUEUED, actor="elena", action="password.reset",
                resource=f"account:user{index}", policy_digest=kit.body.policy.digest,
                payload={"context": {"channel": "cli"}, "workflow": "password-reset",
                         "parameters": {"user": f"user{index}"}},
            )  # fmt: skip
        record = seal_record(event, seq=index, prev=prev, time=moment, signer=signer)
        lines.append(record.line)
        prev = record.hash
    return b"".join(line + b"\n" for line in lines)


def _merge_rate(config: GatewayConfig, data: bytes, records: int, quarantine: Path,
                batch: int, in_process: bool) -> float:  # fmt: skip
    gateway = Gateway.from_config(config)
    assert gateway.audit is not None
    threshold = parallel.PARALLEL_MIN_LINES
    parallel.PARALLEL_MIN_LINES = 10**12 if in_process else threshold
    try:
        start = time.perf_counter()
        outcome = merge_segment(
            data, "bench.segment.log", audit=gateway.audit, quarantine=quarantine,
            now=datetime.now(UTC), actor="svc-gateway", batch=batch,
        )  # fmt: skip
        rate = records / (time.perf_counter() - start)
    finally:
        parallel.PARALLEL_MIN_LINES = threshold
        gateway.close()
    if outcome.status != "merged":
        raise SystemExit(f"merge failed: {outcome.reason}")
    return rate


def bench_merge(folder: Path, kit_path: Path, records: int, runs: int = 3) -> dict[str, float]:
    """The merge as it runs (lines checked on every core for a long segment), the same
    merge checking every line in this process, and the former merge (one central record
    per segment line, in this process), interleaved run by run so that all see the same
    load; medians.  The first merge also starts the worker pool: its rate is kept apart."""
    config = _config_of(folder)
    kit = open_kit(config, kit_path, datetime.now(UTC))
    data = _segment(kit, records)
    original = config.audit.log.read_bytes()
    shapes = {"parallel": (MERGE_BATCH, False), "in_process": (MERGE_BATCH, True),
              "per_line": (1, True)}  # fmt: skip
    rates: dict[str, list[float]] = {name: [] for name in shapes}
    cold = 0.0
    for run in range(runs + 1):  # each run merges into the same central log as it was
        for name, (batch, in_process) in shapes.items():
            config.audit.log.write_bytes(original)
            rate = _merge_rate(config, data, records, folder / f"q{run}", batch, in_process)
            if run == 0 and name == "parallel":
                cold = rate  # the pool started during this one
            elif run > 0:
                rates[name].append(rate)
    naive_records = min(records, 1_000)
    gateway = Gateway.from_config(config)
    assert gateway.audit is not None
    start = time.perf_counter()
    for line in data.splitlines()[:naive_records]:
        gateway.audit.append(AuditEvent(type="offline.record", payload={"line": line.decode()}))
    naive_elapsed = time.perf_counter() - start
    gateway.close()
    return {"records": records, "runs": runs, "cores": parallel.workers(),
            "merge_records_per_s": statistics.median(rates["parallel"]),
            "cold_pool_records_per_s": cold,
            "in_process_records_per_s": statistics.median(rates["in_process"]),
            "per_line_records_per_s": statistics.median(rates["per_line"]),
            "naive_records_per_s": naive_records / naive_elapsed}  # fmt: skip


def _central_filler(config: GatewayConfig, after: bytes, count: int) -> bytes:
    """``count`` central records (executions changing accounts) chained after the last
    line of ``after``, signed by the central key."""
    signer = load_signer(config.audit.signing_key)
    last = parse_record(after.rstrip(b"\n").rsplit(b"\n", 1)[-1], -1)
    seq, prev, moment = last.seq + 1, last.hash, datetime.now(UTC)
    lines = []
    for index in range(count):
        event = AuditEvent(
            type="action.succeeded", actor="elena", action="password.reset",
            resource=f"account:user{index % 5_000}", payload={"execution": f"{index:032x}"},
        )  # fmt: skip
        record = seal_record(event, seq=seq + index, prev=prev, time=moment, signer=signer)
        lines.append(record.line)
        prev = record.hash
    return b"".join(line + b"\n" for line in lines)


def bench_central_log(
    folder: Path, kit_path: Path, original: bytes, sizes: Sequence[int], runs: int = 3
) -> dict[str, float]:
    """Seconds per sync of a 100-record segment into central logs of ``sizes`` records
    after ``original`` (the central log as the kit left it): the first sync of this host
    (``sync_s_at_N``), then the kit's next 100 records synced into the same log
    (``next_sync_s_at_N``, the summary of the first sync kept); medians of ``runs``."""
    config = _config_of(folder)
    kit = open_kit(config, kit_path, datetime.now(UTC))
    lines = _segment(kit, 100, queued=10, visits=2).splitlines(keepends=True)
    visits = [b"".join(lines[:100]), b"".join(lines[100:])]
    filler = _central_filler(config, original, max(sizes)).splitlines(keepends=True)
    figures: dict[str, float] = {}
    for size in sizes:
        central = original + b"".join(filler[:size])
        first: list[float] = []
        following: list[float] = []
        for run in range(runs):
            config.audit.log.write_bytes(central)
            quarantine = folder / f"c{size}-{run}"
            for data, times in zip(visits, (first, following), strict=True):
                rate = _merge_rate(config, data, 100, quarantine, MERGE_BATCH, True)
                times.append(100 / rate)
        figures[f"sync_s_at_{size}"] = statistics.median(first)
        figures[f"next_sync_s_at_{size}"] = statistics.median(following)
    return figures


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.offline", description=__doc__)
    parser.add_argument("--records", type=int, default=10_000, help="segment records")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--central", type=int, nargs="*", default=[0, 100_000, 400_000],
        help="central log lengths to sync a small segment into",
    )  # fmt: skip
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        print("... preparing kits", file=sys.stderr, flush=True)
        prepare, kit_path = bench_prepare(folder)
        print("... offline decisions", file=sys.stderr, flush=True)
        decisions = bench_decisions(folder, kit_path)
        print(f"... merging {args.records:,} records", file=sys.stderr, flush=True)
        enrolled = _config_of(folder).audit.log.read_bytes()
        merge = bench_merge(folder, kit_path, args.records)
        print("... syncing into long central logs", file=sys.stderr, flush=True)
        central = (
            bench_central_log(folder, kit_path, enrolled, args.central) if args.central else {}
        )
    figures: dict[str, Any] = {
        "machine": f"{platform.platform()}, CPython {platform.python_version()}",
        "prepare": prepare,
        "decisions": decisions,
        "merge": merge,
        "central_log": central,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print("Field kit benchmark")
    print(f"machine: {figures['machine']}")
    print(
        f"prepare, {prepare['people']:.0f} people / {prepare['devices']:.0f} devices   "
        f"{prepare['prepare_s']:.3f} s   kit {prepare['kit_bytes'] / 1e6:.2f} MB, the whole "
        f"directory {prepare['naive_whole_directory_bytes'] / 1e6:.2f} MB   goal <= 2 s "
        f"{_verdict(prepare['prepare_s'] <= GOAL_PREPARE_S)}"
    )
    print(
        f"offline decision p50 {decisions['decide_p50_ms']:.3f} ms (p99 "
        f"{decisions['decide_p99_ms']:.3f})   with the durable segment append p50 "
        f"{decisions['authorize_p50_ms']:.3f} ms (p99 {decisions['authorize_p99_ms']:.3f})   "
        f"goal p50 <= 1 ms {_verdict(decisions['decide_p50_ms'] <= GOAL_DECISION_MS)}"
    )
    ratio = merge["merge_records_per_s"] / merge["naive_records_per_s"]
    per_line = merge["merge_records_per_s"] / merge["per_line_records_per_s"]
    cores = merge["merge_records_per_s"] / merge["in_process_records_per_s"]
    print(
        f"verify + merge {merge['records']:,} records   {merge['merge_records_per_s']:,.0f}/s "
        f"(lines checked on {merge['cores']:.0f} cores; {merge['cold_pool_records_per_s']:,.0f}/s "
        f"while the pool starts)   in this process {merge['in_process_records_per_s']:,.0f}/s "
        f"(x{cores:.2f})   one central record per line "
        f"{merge['per_line_records_per_s']:,.0f}/s (x{per_line:.1f})   naive one-by-one "
        f"{merge['naive_records_per_s']:,.0f}/s (x{ratio:.1f})   goal >= 5,000/s "
        f"{_verdict(merge['merge_records_per_s'] >= GOAL_MERGE_PER_S)}"
    )
    for name, seconds in central.items():
        if name.startswith("sync_s_at_"):
            size = int(name.rsplit("_", 1)[1])
            following = central[f"next_sync_s_at_{size}"]
            print(f"sync of 100 records (10 queued) into a central log of {size:,} records   "
                  f"{seconds * 1000:,.0f} ms   the kit's next 100 records "
                  f"{following * 1000:,.0f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
