"""Privacy in the audit log: what sealing personal fields costs, and erasing a person.

Run with ``make bench`` or ``python -m benchmarks.privacy``.

* **Append**: durable appends (one ``fsync`` each, one thread) of decision records that
  carry the directory facts the engines saw, with sealing on (AES-256-GCM under the
  person's data key, looked up in the SQLite key store) against sealing off (the naive
  baseline). Goal: sealing adds at most 20%. The CPU cost of building a record
  (redact, seal, sign, encode; no disk) is shown too.
* **Verify**: full verification (every signature) of a log of sealed records against the
  same number of plain records. Goal: within 10%.
* **Erase**: a log of 100,000 records sealed for one person over 24 months and 5 event
  types; erasing the person (the ``privacy.erased`` record first, then deleting keys).
  Goal: at most 1 s; it touches keys, never records.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog, read_lines
from gateway.audit.records import GENESIS_PREV, AuditEvent, seal_record
from gateway.audit.verify import verify_records
from gateway.privacy.keystore import DataKeyStore
from gateway.privacy.sealer import PersonalDataSealer

GOAL_APPEND_OVERHEAD = 0.20
GOAL_VERIFY_OVERHEAD = 0.10
GOAL_ERASE_S = 1.0
START = datetime(2025, 1, 1, tzinfo=UTC)
TYPES = ("decision", "action.started", "action.succeeded", "execution.started", "manual.action")


def _event(index: int, person: str = "tom", kind: str = "decision") -> AuditEvent:
    facts = {
        "v": 1,
        "actor": {"id": person, "department": "Finance", "title": "Accountant",
                  "groups": ["finance", "staff"], "manager": "priya", "location": "branch-7"},
        "resource": {"owner": {"type": "User", "id": person}},
    }  # fmt: skip
    payload: dict[str, Any] = {"decision": "allow", "context": {"channel": "cli"}}
    payload |= {"facts": facts, "parameters": {"user": person}, "note": f"visit {index}"}
    return AuditEvent(
        type=kind, actor=person, action="password.reset", resource=f"account:{person}",
        decision_id=f"{index:032x}", policy_digest="sha256:" + "ab" * 32, payload=payload,
    )  # fmt: skip


def _alternating(
    baseline: Callable[[], float], candidate: Callable[[], float], repeat: int
) -> tuple[float, float]:
    """The medians of ``repeat`` runs of each, run in turns."""
    first: list[float] = []
    second: list[float] = []
    for _ in range(repeat):
        first.append(baseline())
        second.append(candidate())
    return statistics.median(first), statistics.median(second)


def bench_append(folder: Path, records: int, repeat: int) -> dict[str, float]:
    signer = Signer.generate()

    def durable(sealing: bool) -> float:
        path = folder / f"append-{sealing}-{time.perf_counter_ns()}.log"
        keys = DataKeyStore(folder / f"keys-{time.perf_counter_ns()}.sqlite")
        log = AuditLog(path, signer, sealer=PersonalDataSealer(keys) if sealing else None)
        for index in range(50):  # every person's key made before timing: steady state
            log.append(_event(index, f"user{index}"))
        started = time.perf_counter()
        for index in range(records):
            log.append(_event(index, f"user{index % 50}"))
        elapsed = time.perf_counter() - started
        log.close()
        keys.close()
        return elapsed / records

    def built(sealing: bool) -> float:
        keys = DataKeyStore(folder / f"cpu-{time.perf_counter_ns()}.sqlite")
        sealer = PersonalDataSealer(keys) if sealing else None
        events = [_event(index, f"user{index % 50}") for index in range(records)]
        for event in events[:50]:  # every person's key made before timing: steady state
            seal_record(event, seq=0, prev=GENESIS_PREV, time=START, signer=signer, sealer=sealer)
        started = time.perf_counter()
        for index, event in enumerate(events):
            seal_record(event, seq=index, prev=GENESIS_PREV, time=START, signer=signer,
                        sealer=sealer)  # fmt: skip
        elapsed = time.perf_counter() - started
        keys.close()
        return elapsed / records

    # Plain and sealed runs alternate, so a machine that gets busier part-way through
    # slows both alike.
    plain, sealed = _alternating(lambda: durable(False), lambda: durable(True), repeat)
    cpu_plain, cpu_sealed = _alternating(lambda: built(False), lambda: built(True), repeat)
    return {
        "append_plain_us": plain * 1e6,
        "append_sealed_us": sealed * 1e6,
        "append_overhead": sealed / plain - 1,
        "build_plain_us": cpu_plain * 1e6,
        "build_sealed_us": cpu_sealed * 1e6,
        "build_overhead": cpu_sealed / cpu_plain - 1,
    }


def _write_fast(path: Path, signer: Signer, count: int, sealer: PersonalDataSealer | None,
                person: str = "tom") -> None:  # fmt: skip
    """``count`` records sealed and chained as the log does, written without an fsync
    each (the log's bytes are the same; only durability is not measured here)."""
    prev = GENESIS_PREV
    with path.open("wb") as handle:
        for index in range(count):
            moment = START + timedelta(days=(index * 730) // count)
            event = _event(index, person, TYPES[index % len(TYPES)])
            record = seal_record(event, seq=index, prev=prev, time=moment, signer=signer,
                                 sealer=sealer)  # fmt: skip
            handle.write(record.line + b"\n")
            prev = record.hash


def bench_verify(folder: Path, records: int, repeat: int) -> dict[str, float]:
    signer = Signer.generate()
    plain, sealed = folder / "verify-plain.log", folder / "verify-sealed.log"
    keys = DataKeyStore(folder / "verify-keys.sqlite")
    _write_fast(plain, signer, records, None)
    _write_fast(sealed, signer, records, PersonalDataSealer(keys))
    keys.close()

    def run(path: Path) -> float:
        started = time.perf_counter()
        verify_records(read_lines(path), signer.public_key)
        return time.perf_counter() - started

    plain_s, sealed_s = _alternating(lambda: run(plain), lambda: run(sealed), repeat)
    return {
        "verify_plain_records_per_s": records / plain_s,
        "verify_sealed_records_per_s": records / sealed_s,
        "verify_slowdown": sealed_s / plain_s - 1,
    }


def bench_erase(folder: Path, records: int) -> dict[str, float]:
    signer = Signer.generate()
    path = folder / "erase.log"
    keys = DataKeyStore(folder / "erase-keys.sqlite")
    _write_fast(path, signer, records, PersonalDataSealer(keys))
    held = keys.count("tom")
    with AuditLog(path, signer) as log:
        started = time.perf_counter()
        log.append(AuditEvent(type="privacy.erased", actor="grace", resource="account:tom",
                              payload={"data_keys": held}))  # fmt: skip
        erased = keys.erase_person("tom", datetime.now(UTC))
        elapsed = time.perf_counter() - started
    keys.close()
    return {"erase_records": float(records), "erase_keys": float(erased), "erase_s": elapsed}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.privacy",
        description="What sealing personal audit fields costs, and erasing a person.",
    )
    parser.add_argument("--records", type=int, default=2_000, help="records appended")
    parser.add_argument("--verify", type=int, default=20_000, help="records verified")
    parser.add_argument("--erase", type=int, default=100_000, help="records of the person")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        progress(f"appending {args.records:,} records, sealed and plain")
        append = bench_append(folder, args.records, args.repeat)
        progress(f"verifying {args.verify:,} records, sealed and plain")
        verify = bench_verify(folder, args.verify, args.repeat)
        progress(f"erasing a person with {args.erase:,} records")
        erase = bench_erase(folder, args.erase)
    figures: dict[str, Any] = {
        "machine": f"{platform.platform()}, CPython {platform.python_version()}",
        **append, **verify, **erase,
    }  # fmt: skip
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0

    def verdict(ok: bool) -> str:
        return "meets the goal" if ok else "MISSES the goal"

    print("Privacy benchmark (sealed personal fields)")
    print(f"machine: {figures['machine']}")
    print(
        f"append (durable): plain {append['append_plain_us']:.0f} us, sealed "
        f"{append['append_sealed_us']:.0f} us: {append['append_overhead']:+.1%} "
        f"(goal <= {GOAL_APPEND_OVERHEAD:.0%}: "
        f"{verdict(append['append_overhead'] <= GOAL_APPEND_OVERHEAD)})"
    )
    print(
        f"build (CPU only): plain {append['build_plain_us']:.0f} us, sealed "
        f"{append['build_sealed_us']:.0f} us: {append['build_overhead']:+.1%}"
    )
    print(
        f"verify: plain {verify['verify_plain_records_per_s']:,.0f} records/s, sealed "
        f"{verify['verify_sealed_records_per_s']:,.0f} records/s: "
        f"{verify['verify_slowdown']:+.1%} (goal within {GOAL_VERIFY_OVERHEAD:.0%}: "
        f"{verdict(verify['verify_slowdown'] <= GOAL_VERIFY_OVERHEAD)})"
    )
    print(
        f"erase: a person with {int(erase['erase_records']):,} records, "
        f"{int(erase['erase_keys'])} data keys: {erase['erase_s'] * 1000:.1f} ms "
        f"(goal <= {GOAL_ERASE_S:.0f} s: {verdict(erase['erase_s'] <= GOAL_ERASE_S)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
