"""CEL candidates against the home-made expression language, on the shipped definitions.

Run with ``python -m benchmarks.cel_candidates`` (``--help`` lists the options).

Candidates: ``cel-python`` (pure Python, import ``celpy``) and ``common-expression-language``
(Rust-backed, import ``cel``).  Every condition and template of ``automations/`` (see
``benchmarks.cel_shipped``) is written in CEL, and

* **correctness**: each text is evaluated on sample scopes by the home-made language and by
  each candidate; the answers must be equal, same type included (a bool is not an int), or
  both an error.  Templates become a ``{{ }}`` splitter (``split_template``) with CEL inside;
  text parts are written as today (``null`` empty, bools ``true``/``false``, lists and dicts
  as compact JSON).
* **speed**: per text, the median time to compile (the home-made parser without its cache)
  and to evaluate on one scope, over ``--runs`` batches of ``--inner`` calls, and the ratio
  to the home-made language.  Each candidate runs twice: converting the scope on every call,
  and on a scope converted once (``cel.Context``, ``celpy.json_to_cel``); what the
  conversion costs is printed per family of scopes.
* **errors and limits**: ``benchmarks.cel_probes`` (syntax errors and their positions, what
  is caught at compile time, evaluation messages and secrets, nesting, cost, GIL).

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
    ENGINES,
    Engine,
    cel_text,
    compile_cel,
    compile_home,
    run_cel,
    run_home,
)
from benchmarks.cel_shipped import Shipped, sample_scopes, shipped_texts

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
    home_made_errors: int = 0
    agree: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)


def check(entries: list[Shipped], scopes: dict[str, list[dict[str, Any]]]) -> Correctness:
    """Every text on every sample scope of its family, home-made against each engine."""
    found = Correctness(agree=dict.fromkeys(ENGINES, 0))
    for entry in entries:
        home = compile_home(entry.kind, entry.text)
        text = cel_text(entry)
        samples = scopes[entry.family]
        wants = [_outcome(partial(run_home, entry.kind, home, scope)) for scope in samples]
        found.cases += len(wants)
        found.home_made_errors += sum(want[0] == "error" for want in wants)
        for engine in ENGINES.values():
            try:
                compiled = compile_cel(engine, entry.kind, text)
            except Exception as exc:
                found.mismatches.append(f"{engine.name}: {entry.sites[0]}: no compile: {exc}")
                continue
            for index, (scope, want) in enumerate(zip(samples, wants, strict=True)):
                prepared = engine.prepare(scope)
                got = _outcome(partial(run_cel, engine, entry.kind, compiled, prepared))
                if want[0] == got[0] and (want[0] == "error" or _same(want[1], got[1])):
                    found.agree[engine.name] += 1
                    continue
                found.mismatches.append(
                    f"{engine.name}: {entry.sites[0]} ({entry.family} sample {index}): "
                    f"home-made {want[0]} `{str(want[1])[:60]}`, CEL {got[0]} `{got[1]}`"
                )
    return found


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


def _first_ok(entry: Shipped, home: Any, scopes: list[dict[str, Any]]) -> dict[str, Any]:
    for scope in scopes:
        if _outcome(partial(run_home, entry.kind, home, scope))[0] == "ok":
            return scope
    raise SystemExit(f"{entry.sites[0]}: no sample scope evaluates {entry.text!r}; add one")


def measure(
    entries: list[Shipped], scopes: dict[str, list[dict[str, Any]]], runs: int, inner: int
) -> list[dict[str, Any]]:
    """Per text: compile and run medians of the home-made language and of each engine.

    Runs are timed through ``_outcome`` so that an engine that fails a text is timed on its
    error path (and named in ``failed``) instead of stopping the run.
    """
    rows = []
    for entry in entries:
        text = cel_text(entry)
        home = compile_home(entry.kind, entry.text)
        scope = _first_ok(entry, home, scopes[entry.family])
        compile_us = {
            "home-made": median_us(partial(compile_home, entry.kind, entry.text), runs, inner)
        }
        run_us = {
            "home-made": median_us(
                partial(_outcome, partial(run_home, entry.kind, home, scope)), runs, inner
            )
        }
        failed: list[str] = []
        for name, engine in ENGINES.items():
            compiled = compile_cel(engine, entry.kind, text)
            run = partial(run_cel, engine, entry.kind, compiled, engine.prepare(scope))
            compile_us[name] = median_us(
                partial(compile_cel, engine, entry.kind, text), runs, inner
            )
            if _outcome(run)[0] == "error":
                failed.append(name)
            run_us[name] = median_us(partial(_outcome, run), runs, inner)
        rows.append(
            {
                "site": str(entry.sites[0]),
                "kind": entry.kind,
                "text": entry.text,
                "cel": text,
                "compile_us": compile_us,
                "run_us": run_us,
                "failed": failed,
            }
        )
    return rows


def _prepare_and_run(engine: Engine, program: Any, scope: dict[str, Any]) -> Any:
    return engine.run(program, engine.prepare(scope))


def preparation(scopes: dict[str, list[dict[str, Any]]], runs: int, inner: int) -> Any:
    """Per family, µs to prepare its first scope and run ``true`` on it (the conversion)."""
    found: dict[str, dict[str, float]] = {}
    for name, engine in ENGINES.items():
        constant = engine.compile("true")
        found[name] = {
            family: median_us(partial(_prepare_and_run, engine, constant, samples[0]), runs, inner)
            for family, samples in scopes.items()
        }
    return found


def _geomean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = []
    for phase in ("compile_us", "run_us"):
        for name in ("home-made", *ENGINES):
            values = [row[phase][name] for row in rows]
            ratios = [row[phase][name] / row[phase]["home-made"] for row in rows]
            by_kind = {
                kind: statistics.median(row[phase][name] for row in rows if row["kind"] == kind)
                for kind in ("condition", "value", "template")
            }
            lines.append(
                {
                    "phase": phase.removesuffix("_us"),
                    "engine": name,
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


def _print_table(entries: list[Shipped]) -> None:
    print("## The shipped texts that need another text in CEL\n")
    print("| where | kind | home-made | CEL |")
    print("|---|---|---|---|")
    for entry in entries:
        cel_side = cel_text(entry)
        if cel_side != entry.text:
            more = f" (+{len(entry.sites) - 1})" if len(entry.sites) > 1 else ""
            print(f"| {entry.sites[0]}{more} | {entry.kind} | `{entry.text}` | `{cel_side}` |")
    print()


def _print_speed(rows: list[dict[str, Any]], prepared: Any, detail: bool) -> None:
    print("## Speed (µs per call, medians; ratio = engine / home-made, geometric mean)\n")
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
        "\nConverting a sample scope and running `true` on it (µs; the `run` figures above "
        "include this for the engines that convert on every call):\n"
    )
    families = list(next(iter(prepared.values())))
    print("| engine | " + " | ".join(families) + " |")
    print("|---|" + "---:|" * len(families))
    for name, figures in prepared.items():
        print(f"| {name} | " + " | ".join(f"{figures[f]:.1f}" for f in families) + " |")
    print()
    if detail:
        names = ("home-made", *ENGINES)
        print(
            "| where | kind | "
            + " | ".join(f"compile {n}" for n in names)
            + " | "
            + " | ".join(f"run {n}" for n in names)
            + " |"
        )
        print("|---|---|" + "---:|" * (2 * len(names)))
        for row in rows:
            cells = [f"{row['compile_us'][n]:.1f}" for n in names]
            cells += [f"{row['run_us'][n]:.2f}" for n in names]
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
    args = parser.parse_args(argv)
    runs, inner = (5, 5) if args.quick else (args.runs, args.inner)

    entries = shipped_texts()
    scopes = sample_scopes()
    measured = [e for e in entries if e.kind != "template" or "{{" in e.text]
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
    changed = sum(cel_text(e) != e.text for e in measured)
    print(
        f"# CEL candidates on the shipped definitions\n\nPython {platform.python_version()}, "
        f"common-expression-language {version('common-expression-language')}, cel-python "
        f"{version('cel-python')}; --runs {runs} --inner {inner}.\n"
    )
    print(
        f"{sites} strings in the definitions are conditions, values or templates, "
        f"{len(entries)} distinct: {len(measured)} texts with expressions, "
        f"{len(entries) - len(measured)} plain strings.  {changed} of the {len(measured)} "
        "need another text in CEL; the rest are the same text.\n"
    )
    _print_table(measured)
    print(
        f"## Correctness: {found.cases} (text, sample scope) cases, {found.home_made_errors} "
        "of them errors in the home-made language too (a step not run, a null target, a check "
        "without that result)\n"
    )
    for name, agreed in found.agree.items():
        print(f"- {name}: {agreed} of {found.cases} agree")
    for mismatch in found.mismatches:
        print(f"- mismatch: {mismatch}")
    print()
    _print_speed(rows, prepared, args.detail)
    cel_probes.print_report(probes)
    return 1 if args.strict and found.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
