"""Audit log speed: durable appends, verification and Merkle proofs.

Run with ``make bench`` (after the decision benchmark) or ``python -m benchmarks.audit``.

* **Appends**: records made durable per second with 16 threads appending at once through
  one ``AuditLog`` (group commit: one write and one fsync per batch), against the naive
  way, one writer that seals, writes and fsyncs each record on its own.
* **Verification**: records per second on one core for a full verification (every
  signature) and for the chain-only mode (structure, chain and Merkle root; trust from a
  signed checkpoint).
* **Proofs**: inclusion and consistency proofs in a 1,000,000-leaf tree (leaf hashes of
  synthetic records: writing a million signed records would take minutes), p50/p99 over
  random indices, against computing one proof naively from the leaves (RFC 9162 recursion).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog, read_lines
from gateway.audit.merkle import MerkleTree, leaf_hash, node_hash
from gateway.audit.records import GENESIS_PREV, AuditEvent, seal_record
from gateway.audit.verify import verify_records

GOAL_APPENDS = 5_000.0
GOAL_FULL_VERIFY = 8_000.0
GOAL_CHAIN_VERIFY = 200_000.0
GOAL_PROOF_MS = 10.0


def _event(index: int) -> AuditEvent:
    return AuditEvent(
        type="decision",
        actor=f"user{index % 977}",
        action="password.reset",
        resource=f"account:user{index % 313}",
        decision_id=f"{index:032x}",
        policy_digest="sha256:" + "ab" * 32,
        payload={"decision": "allow", "reasons": [{"engine": "cedar", "policy": "p"}]},
    )


def bench_appends(folder: Path, threads: int, records: int) -> dict[str, float]:
    log = AuditLog(folder / "grouped.log", Signer.generate())
    per_thread = records // threads

    def work(offset: int) -> None:
        for index in range(per_thread):
            log.append(_event(offset + index))

    workers = [threading.Thread(target=work, args=(n * per_thread,)) for n in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    grouped = per_thread * threads / (time.perf_counter() - start)
    log.close()

    # Naive: one writer, each record sealed, written and fsynced on its own.
    signer = Signer.generate()
    descriptor = os.open(folder / "naive.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    prev, naive_records = GENESIS_PREV, max(records // 4, 200)
    start = time.perf_counter()
    for seq in range(naive_records):
        record = seal_record(_event(seq), seq=seq, prev=prev, time=datetime.now(UTC), signer=signer)
        os.write(descriptor, record.line + b"\n")
        os.fsync(descriptor)
        prev = record.hash
    naive = naive_records / (time.perf_counter() - start)
    os.close(descriptor)
    return {"appends_per_s": grouped, "naive_appends_per_s": naive, "threads": threads}


def bench_verify(folder: Path, records: int) -> dict[str, float]:
    signer = Signer.generate()
    path = folder / "verify.log"
    with AuditLog(path, signer) as log:
        batch = 0
        while batch < records:
            log.append(_event(batch))
            batch += 1
    timings: dict[str, float] = {}
    for label, signatures in (("full", True), ("chain", False)):
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            report = verify_records(
                read_lines(path), signer.public_key, check_signatures=signatures
            )
            runs.append(report.records / (time.perf_counter() - start))
        timings[f"{label}_records_per_s"] = statistics.median(runs)
    return timings


def _naive_root(leaves: Sequence[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_naive_root(leaves[:split]), _naive_root(leaves[split:]))


def _naive_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        return [*_naive_path(index, leaves[:split]), _naive_root(leaves[split:])]
    return [*_naive_path(index - split, leaves[split:]), _naive_root(leaves[:split])]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def bench_proofs(leaves: int, proofs: int, progress: Callable[[str], None]) -> dict[str, float]:
    rng = random.Random(7)
    progress(f"building a {leaves:,}-leaf tree")
    start = time.perf_counter()
    hashes = [
        leaf_hash(hashlib.sha256(index.to_bytes(8, "big")).digest()) for index in range(leaves)
    ]
    tree = MerkleTree.from_leaf_hashes(hashes)
    build_s = time.perf_counter() - start
    inclusion, consistency = [], []
    for _ in range(proofs):
        index = rng.randrange(leaves)
        start = time.perf_counter()
        tree.inclusion_proof(index, leaves)
        inclusion.append((time.perf_counter() - start) * 1e3)
        old = rng.randrange(1, leaves)
        start = time.perf_counter()
        tree.consistency_proof(old, leaves)
        consistency.append((time.perf_counter() - start) * 1e3)
    progress("computing naive proofs")
    naive = []
    for _ in range(2):
        index = rng.randrange(leaves)
        start = time.perf_counter()
        expected = _naive_path(index, hashes)
        naive.append((time.perf_counter() - start) * 1e3)
        if expected != tree.inclusion_proof(index, leaves):
            raise SystemExit("inclusion proof differs from the naive computation")
    inclusion_p50, inclusion_p99 = _percentiles(inclusion)
    consistency_p50, consistency_p99 = _percentiles(consistency)
    return {
        "leaves": leaves,
        "build_s": build_s,
        "inclusion_p50_ms": inclusion_p50,
        "inclusion_p99_ms": inclusion_p99,
        "consistency_p50_ms": consistency_p50,
        "consistency_p99_ms": consistency_p99,
        "naive_inclusion_ms": statistics.median(naive),
    }


def _verdict(value: float, goal: float, higher_is_better: bool = True) -> str:
    met = value >= goal if higher_is_better else value <= goal
    return "met" if met else "NOT met"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.audit",
        description="Audit log speed: durable appends, verification and Merkle proofs.",
    )
    parser.add_argument("--records", type=int, default=8_000, help="records appended and verified")
    parser.add_argument("--leaves", type=int, default=1_000_000, help="leaves of the proof tree")
    parser.add_argument("--proofs", type=int, default=1_000, help="proofs timed of each kind")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as folder:
        progress(f"appending {args.records:,} records with 16 threads")
        appends = bench_appends(Path(folder), 16, args.records)
        progress(f"verifying {args.records:,} records")
        verification = bench_verify(Path(folder), args.records)
    proof_figures = bench_proofs(args.leaves, args.proofs, progress)
    figures: dict[str, Any] = {
        "machine": f"{platform.platform()}, CPython {platform.python_version()}",
        "appends": appends,
        "verification": verification,
        "proofs": proof_figures,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print("Audit log benchmark")
    print(f"machine: {figures['machine']}")
    ratio = appends["appends_per_s"] / appends["naive_appends_per_s"]
    print(
        f"durable appends, 16 threads   {appends['appends_per_s']:>10,.0f}/s   naive one-by-one "
        f"{appends['naive_appends_per_s']:,.0f}/s   x{ratio:.1f}   goal 5,000/s "
        f"{_verdict(appends['appends_per_s'], GOAL_APPENDS)}"
    )
    for label, goal in (("full", GOAL_FULL_VERIFY), ("chain", GOAL_CHAIN_VERIFY)):
        value = verification[f"{label}_records_per_s"]
        print(
            f"verification, {label:<5} (1 core) {value:>10,.0f} records/s   goal {goal:,.0f}/s "
            f"{_verdict(value, goal)}"
        )
    naive = proof_figures["naive_inclusion_ms"]
    for kind in ("inclusion", "consistency"):
        p50, p99 = proof_figures[f"{kind}_p50_ms"], proof_figures[f"{kind}_p99_ms"]
        print(
            f"{kind} proof, {args.leaves:,} leaves   p50 {p50:.3f} ms  p99 {p99:.3f} ms   "
            f"naive {naive:,.0f} ms (x{naive / p50:,.0f})   goal < {GOAL_PROOF_MS:.0f} ms "
            f"{_verdict(p99, GOAL_PROOF_MS, higher_is_better=False)}"
        )
    print(f"tree build: {proof_figures['build_s']:.1f} s for {args.leaves:,} leaves")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
