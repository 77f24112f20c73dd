"""Obligation speed: step-up verifications and approval transitions on the embedded store.

Run with ``make bench`` or ``python -m benchmarks.obligations``.

* **Step-up**: one successful TOTP verification (replay check, lockout bookkeeping and a
  durable SQLite commit), p50/p99 over distinct users so every code is fresh.
* **Approvals**: votes and approved transitions per second on the SQLite store (full
  synchronous commits), quorum 2, without and with the signed audit log as the sink.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp

from gateway.approvals.service import ApprovalService
from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.identity.static import StaticDirectory, StaticDirectoryFile
from gateway.policy.decision import ApprovalObligation, Decision, Effect
from gateway.policy.request import AccessRequest
from gateway.stepup.service import StepUpService
from gateway.stepup.settings import StepUpSettings

GOAL_STEP_UP_MS = 1.0
GOAL_TRANSITIONS = 1_000.0


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def bench_step_up(folder: Path, users: int) -> dict[str, float]:
    settings = StepUpSettings(
        database=folder / "stepup.db", seed_key_file=folder / "seeds.key", recovery_code_count=1
    )
    service = StepUpService.open(settings)
    seeds = {}
    for index in range(users):
        enrolment = service.enrol(f"user{index}")
        query = urllib.parse.urlparse(enrolment.provisioning_uri.get_secret_value()).query
        seeds[f"user{index}"] = urllib.parse.parse_qs(query)["secret"][0]
    timings = []
    for user, seed in seeds.items():
        code = pyotp.TOTP(seed).now()
        start = time.perf_counter()
        service.verify(user, code)
        timings.append((time.perf_counter() - start) * 1e3)
    service.close()
    p50, p99 = _percentiles(timings)
    return {"verify_p50_ms": p50, "verify_p99_ms": p99, "users": users}


def _directory(people: int) -> StaticDirectory:
    users: dict[str, Any] = {"requester": {}, "target": {"manager": "boss"}, "boss": {}}
    users.update({f"approver{n}": {"groups": ["approvers"]} for n in range(people)})
    return StaticDirectory(StaticDirectoryFile.model_validate({"users": users}))


def bench_approvals(folder: Path, requests: int, *, audited: bool) -> dict[str, float]:
    directory = _directory(4)
    log = AuditLog(folder / f"audit-{audited}.log", Signer.generate()) if audited else None
    service = ApprovalService.at(
        folder / f"approvals-{audited}.db",
        directory,
        authorise=lambda approver, item: None,
        audit=log.append if log is not None else None,
    )
    obligation = ApprovalObligation(
        name="approval", approvers=("group:approvers",), quorum=2, policy="p"
    )
    opened = []
    for index in range(requests):
        request = AccessRequest(
            actor="requester",
            action="access.grant",
            resource="account:target",
            context={"n": index},
        )
        decision = Decision(
            decision=Effect.ALLOW, decision_id=f"d{index}", policy_digest="sha256:x",
            decided_at=datetime.now(UTC), request=request, obligations=(obligation,),
        )  # fmt: skip
        opened.append(service.open(request, decision, [obligation], requester="requester"))
    start = time.perf_counter()
    for item in opened:
        service.approve(item.id, "approver0", digest=item.digest)
        service.approve(item.id, "approver1", digest=item.digest)
    elapsed = time.perf_counter() - start
    service.store.close()
    if log is not None:
        log.close()
    return {"votes_per_s": 2 * requests / elapsed, "approved_per_s": requests / elapsed}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.obligations",
        description="Step-up verification latency and approval transitions per second.",
    )
    parser.add_argument("--users", type=int, default=300, help="users who step up once each")
    parser.add_argument("--requests", type=int, default=300, help="approval requests (quorum 2)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        print("... step-up verifications", file=sys.stderr, flush=True)
        step_up = bench_step_up(folder, args.users)
        print("... approval votes", file=sys.stderr, flush=True)
        plain = bench_approvals(folder, args.requests, audited=False)
        audited = bench_approvals(folder, args.requests, audited=True)
    figures = {
        "machine": f"{platform.platform()}, CPython {platform.python_version()}",
        "step_up": step_up,
        "approvals": plain,
        "approvals_audited": audited,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print("Obligation benchmark")
    print(f"machine: {figures['machine']}")
    met = "met" if step_up["verify_p50_ms"] < GOAL_STEP_UP_MS else "NOT met"
    print(
        f"step-up verify        p50 {step_up['verify_p50_ms']:.3f} ms  p99 "
        f"{step_up['verify_p99_ms']:.3f} ms   goal < 1 ms {met}"
    )
    for label, result in (("approvals", plain), ("approvals + audit", audited)):
        met = "met" if result["votes_per_s"] >= GOAL_TRANSITIONS else "NOT met"
        print(
            f"{label:<20}  {result['votes_per_s']:,.0f} votes/s, {result['approved_per_s']:,.0f} "
            f"approved/s   goal 1,000 transitions/s {met}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
