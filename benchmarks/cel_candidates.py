"""CEL on the shipped definitions: the gateway's wrapper, and the libraries it was chosen
among (``docs/adr/0009``), checked against the expected outcomes and timed.

Run with ``python -m benchmarks.cel_candidates`` (``--help`` lists the options).

Every condition, value and template of ``automations/`` (see ``benchmarks.cel_shipped``) is

* **checked**: evaluated on sample scopes by the gateway (``gateway.expressions``, with a
  plain mapping and with a shared ``Scope``) and by the bare libraries,
  ``common-expression-language`` (import ``cel``) and ``cel-python`` (import ``celpy``);
  each answer must equal the expected outcome (``benchmarks/cel_expected.json``, recorded
  from the language the definitions were written in before CEL), same type included, or
  both be an error.  This is the regression check of a library upgrade.
* **timed**: per text, the median time to compile (the gateway: compile and load checks,
  without its cache) and to evaluate on one scope, over ``--runs`` batches of ``--inner``
  calls, and the ratio to the bare ``cel`` library with one ``cel.Context`` per scope.
* **probed**: ``benchmarks.cel_probes`` (syntax errors and their positions, what is refused
  at load, evaluation messages and secrets, nesting, cost, GIL).

Mismatches are findings, printed; ``--strict`` exits non-zero on any.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import version
from typing import Any

from benchmarks import cel_probes
from benchmarks.cel_engines import (
    GATEWAY,
    GATEWAY_SCOPE,
    LIBRARIES,
    PREPARE,
    compile_gateway,
    compile_library,
    run_gateway,
    run_library,
)
from benchmarks.cel_shipped import EXPECTED, Shipped, load_expected, sample_scopes, shipped_texts
from gateway.expressions import Scope, parse_expression

BASELINE = "cel (Rust), Context per scope"
NAMES = (GATEWAY, GATEWAY_SCOPE, *LIBRARIES)

# -- correctness ------------------------------------------------------------------------


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except Exception as exc:  # any error is "an error", compared as such
        return "error", f"{type(exc).__name__}: {str(exc).splitlines()[0][:90]}"


def _same(left: Any, right: Any) -> bool:
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    return bool(left == right)


@dataclass
class Correctness:
    cases: int = 0
    expected_errors: int = 0
    agree: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)


def _runs(entry: Shipped) -> dict[str, Callable[[dict[str, Any]], tuple[str, Any]]]:
    """For each engine, a function from a sample scope to its outcome."""
    runs: dict[str, Callable[[dict[str, Any]], tuple[str, Any]]] = {}
    gateway = compile_gateway(entry.kind, entry.text)
    for name, prepare in PREPARE.items():
        runs[name] = lambda scope, p=prepare: _outcome(
            partial(run_gateway, entry.kind, gateway, p(scope))
        )
    for name, engine in LIBRARIES.items():
        try:
            compiled = compile_library(engine, entry.kind, entry.text)
        except Exception as exc:
            runs[name] = lambda scope, e=exc: ("no compile", str(e).splitlines()[0])
            continue
        runs[name] = lambda scope, e=engine, c=compiled: _outcome(
            partial(run_library, e, entry.kind, c, e.prepare(scope))
        )
    return runs


def check(entries: list[Shipped], scopes: dict[str, list[dict[str, Any]]]) -> Correctness:
    """Every text on every sample scope of its family, each engine against the expected."""
    expected = load_expected()
    found = Correctness(agree=dict.fromkeys(NAMES, 0))
    for entry in entries:
        runs = _runs(entry)
        for index, scope in enumerate(scopes[entry.family]):
            want = expected.get((entry.kind, entry.family, entry.text, index))
            if want is None:
                found.mismatches.append(
                    f"{entry.sites[0]} ({entry.family} sample {index}): no expected outcome; "
                    "record one with --record"
                )
                continue
            found.cases += 1
            found.expected_errors += want[0] == "error"
            for name, run in runs.items():
                got = run(scope)
                if want[0] == got[0] and (want[0] == "error" or _same(want[1], got[1])):
                    found.agree[name] += 1
                    continue
                found.mismatches.append(
                    f"{name}: {entry.sites[0]} ({entry.family} sample {index}): "
                    f"expected {want[0]} `{str(want[1])[:60]}`, found {got[0]} `{got[1]}`"
                )
    return found


def record(entries: list[Shipped], scopes: dict[str, list[dict[str, Any]]]) -> int:
    """Add the gateway's outcomes for the cases without an expected one (a new definition, a
    new sample scope), keep the recorded ones, and drop those no definition has any more."""
    expected = load_expected()
    cases, added = [], 0
    for entry in entries:
        compiled = compile_gateway(entry.kind, entry.text)
        for index, scope in enumerate(scopes[entry.family]):
            known = expected.get((entry.kind, entry.family, entry.text, index))
            if known is None:
                known = _outcome(partial(run_gateway, entry.kind, compiled, scope))
                added += 1
            outcome, value = known
            case = {"kind": entry.kind, "family": entry.family, "text": entry.text}
            case |= {"sample": index, "outcome": outcome}
            cases.append(case | ({"value": value} if outcome == "ok" else {}))
    EXPECTED.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(cases)} outcomes in {EXPECTED}, {added} of them new")
    return 0


# -- speed ------------------------------------------------------------------------------


def median_us(call: Callable[[], object], runs: int, inner: int) -> float:
    """The median over ``runs`` batches of the mean time of one call of a batch, in µs."""
    call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        for _ in range(inner):
            call()
        samples.append((time.perf_counter_ns() - start) / inner / 1000)
    return statistics.median(samples)


def _first_ok(entry: Shipped, compiled: Any, scopes: list[dict[str, Any]]) -> Any:
    for scope in scopes:
        if _outcome(partial(run_gateway, entry.kind, compiled, scope))[0] == "ok":
            return scope
    print(f"{entry.sites[0]}: no sample scope evaluates {entry.text!r}: not timed; add one")
    return None


def measure(
    entries: list[Shipped], scopes: dict[str, list[dict[str, Any]]], runs: int, inner: int
) -> list[dict[str, Any]]:
    """Per text: compile and run medians of the gateway and of each library engine.

    Runs are timed through ``_outcome`` so that an engine that fails a text is timed on its
    error path (and named in ``failed``) instead of stopping the run.
    """
    rows = []
    for entry in entries:
        gateway = compile_gateway(entry.kind, entry.text)
        scope = _first_ok(entry, gateway, scopes[entry.family])
        if scope is None:
            continue
        compile_us: dict[str, float] = {}
        run_us: dict[str, float] = {}
        failed: list[str] = []
        gateway_compile = median_us(partial(compile_gateway, entry.kind, entry.text), runs, inner)
        for name, prepare in PREPARE.items():
            compile_us[name] = gateway_compile
            run = partial(run_gateway, entry.kind, gateway, prepare(scope))
            run_us[name] = median_us(partial(_outcome, run), runs, inner)
        for name, engine in LIBRARIES.items():
            compiled = compile_library(engine, entry.kind, entry.text)
            run = partial(run_library, engine, entry.kind, compiled, engine.prepare(scope))
            compile_us[name] = median_us(
                partial(compile_library, engine, entry.kind, entry.text), runs, inner
            )
            if _outcome(run)[0] == "error":
                failed.append(name)
            run_us[name] = median_us(partial(_outcome, run), runs, inner)
        rows.append(
            {
                "site": str(entry.sites[0]),
                "kind": entry.kind,
                "text": entry.text,
                "compile_us": compile_us,
                "run_us": run_us,
                "failed": failed,
            }
        )
    return rows


def _prepare_gateway(text: str, scope: dict[str, Any]) -> Any:
    return parse_expression(text).evaluate(Scope(scope))


def preparation(scopes: dict[str, list[dict[str, Any]]], runs: int, inner: int) -> Any:
    """Per family, µs to convert its first scope (every root) and run one expression on it."""
    found: dict[str, dict[str, float]] = {}
    readers = {
        family: "size([" + ", ".join(samples[0]) + "]) >= 0" for family, samples in scopes.items()
    }
    found[GATEWAY_SCOPE] = {
        family: median_us(partial(_prepare_gateway, readers[family], samples[0]), runs, inner)
        for family, samples in scopes.items()
    }
    for name, engine in LIBRARIES.items():
        constant = engine.compile("true")
        found[name] = {
            family: median_us(
                partial(lambda e, p, s: e.run(p, e.prepare(s)), engine, constant, samples[0]),
                runs,
                inner,
            )
            for family, samples in scopes.items()
        }
    return found


def _geomean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = []
    for phase in ("compile_us", "run_us"):
        for name in NAMES:
            if phase == "compile_us" and name == GATEWAY_SCOPE:
                continue  # the same compile as GATEWAY
            values = [row[phase][name] for row in rows]
            ratios = [row[phase][name] / row[phase][BASELINE] for row in rows]
            by_kind = {
                kind: statistics.median(row[phase][name] for row in rows if row["kind"] == kind)
                for kind in ("condition", "value", "template")
            }
            lines.append(
                {
                    "phase": phase.removesuffix("_us"),
                    "engine": "gateway (compile + load checks)"
                    if phase == "compile_us" and name == GATEWAY
                    else name,
                    "median_us": statistics.median(values),
                    "by_kind": by_kind,
                    "total_us": sum(values),
                    "max_us": max(values),
                    "ratio_geomean": _geomean(ratios),
                    "ratio_range": (min(ratios), max(ratios)),
                }
            )
    return lines


# -- report ------------------------------------------------------------------------------


def _print_speed(rows: list[dict[str, Any]], prepared: Any, detail: bool) -> None:
    print(f"## Speed (µs per call, medians; ratio = engine / {BASELINE}, geometric mean)\n")
    print(
        "| phase | engine | median | conditions | values | templates | sum of all | slowest "
        "| ratio | ratio range |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for line in summarise(rows):
        low, high = line["ratio_range"]
        kinds = " | ".join(f"{line['by_kind'][k]:.1f}" for k in ("condition", "value", "template"))
        print(
            f"| {line['phase']} | {line['engine']} | {line['median_us']:.1f} | {kinds} | "
            f"{line['total_us']:,.0f} | {line['max_us']:.1f} | {line['ratio_geomean']:.1f}x | "
            f"{low:.1f}x to {high:.1f}x |"
        )
    print(
        "\nConverting a sample scope (every root) and running one expression on it (µs; the "
        "`run` figures of the engines that convert on every call include this):\n"
    )
    families = list(next(iter(prepared.values())))
    print("| engine | " + " | ".join(families) + " |")
    print("|---|" + "---:|" * len(families))
    for name, figures in prepared.items():
        print(f"| {name} | " + " | ".join(f"{figures[f]:.1f}" for f in families) + " |")
    print()
    if detail:
        print(
            "| where | kind | compile gateway | compile cel | compile celpy | "
            + " | ".join(f"run {n}" for n in NAMES)
            + " |"
        )
        print("|---|---|" + "---:|" * (3 + len(NAMES)))
        for row in rows:
            cells = [f"{row['compile_us'][n]:.1f}" for n in (GATEWAY, "cel (Rust)", "celpy")]
            cells += [f"{row['run_us'][n]:.2f}" for n in NAMES]
            print(f"| {row['site']} | {row['kind']} | " + " | ".join(cells) + " |")
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="batches per median (15)")
    parser.add_argument("--inner", type=int, default=20, help="calls per batch (20)")
    parser.add_argument("--quick", action="store_true", help="--runs 5 --inner 5")
    parser.add_argument("--detail", action="store_true", help="one speed row per text")
    parser.add_argument("--json", action="store_true", help="every figure as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 on any mismatch")
    parser.add_argument(
        "--record",
        action="store_true",
        help="record the gateway's outcomes for the cases that have no expected one",
    )
    args = parser.parse_args(argv)
    runs, inner = (5, 5) if args.quick else (args.runs, args.inner)

    entries = shipped_texts()
    scopes = sample_scopes()
    measured = [e for e in entries if e.kind != "template" or "{{" in e.text]
    if args.record:
        return record(measured, scopes)
    found = check(measured, scopes)
    gc.collect()
    rows = measure(measured, scopes, runs, inner)
    prepared = preparation(scopes, runs, inner)
    probes = cel_probes.run_all()
    if args.json:
        print(
            json.dumps(
                {
                    "correctness": found.__dict__,
                    "rows": rows,
                    "summary": summarise(rows),
                    "preparation": prepared,
                    "probes": probes,
                },
                indent=1,
                default=str,
            )
        )
        return 1 if args.strict and found.mismatches else 0

    sites = sum(len(e.sites) for e in entries)
    print(
        f"# CEL on the shipped definitions\n\nPython {platform.python_version()}, "
        f"common-expression-language {version('common-expression-language')}, cel-python "
        f"{version('cel-python')}; --runs {runs} --inner {inner}.\n"
    )
    print(
        f"{sites} strings in the definitions are conditions, values or templates, "
        f"{len(entries)} distinct: {len(measured)} texts with expressions, "
        f"{len(entries) - len(measured)} plain strings.\n"
    )
    print(
        f"## Correctness: {found.cases} (text, sample scope) cases, {found.expected_errors} "
        "of them expected errors (a step not run, a null target, a check without that "
        "result)\n"
    )
    for name, agreed in found.agree.items():
        print(f"- {name}: {agreed} of {found.cases} as expected")
    for mismatch in found.mismatches:
        print(f"- mismatch: {mismatch}")
    print()
    _print_speed(rows, prepared, args.detail)
    cel_probes.print_report(probes)
    return 1 if args.strict and found.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
