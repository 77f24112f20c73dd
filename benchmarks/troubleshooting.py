"""Guided troubleshooting: navigation, validation and resume times against naive baselines.

Run with ``python -m benchmarks.troubleshooting [--json]``.

* Navigation: a generated 30-step tree (10 questions, 10 decisions, 10 diagnostics whose
  checks are stubbed), driven from start to outcome; every step is written to the SQLite
  session store (WAL, full synchronous commits), as in production.  Naive baseline: a
  stateless handler that loads and checks the tree file again for every call.
* Validation: a generated tree of 10,000 nodes (questions, decisions and diagnostics, with
  branches to shared outcomes) validated by the models and fully checked (references,
  reachability, loops, outcomes, conditions, facts).  Baseline: the models alone, to show
  what the graph checks cost.  Loading the same tree from its YAML file (PyYAML's
  line-tracking parser dominates) is printed once, without a goal.
* Resume: a session stopped half way read back and shown.  Naive baseline: replaying its
  answers into a new session (what a system without stored sessions would do).

Medians of 3 runs, each timing many repetitions with ``time.perf_counter``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gateway.troubleshooting.diagnostics import CheckReport, DiagnosticRunner
from gateway.troubleshooting.engine import TroubleshootingEngine
from gateway.troubleshooting.model import TreeDefinition
from gateway.troubleshooting.store import SessionStore
from gateway.troubleshooting.tree import TreeCatalog, load_tree
from gateway.troubleshooting.validation import check_tree
from gateway.yaml_source import YamlDocument

GOALS_MS: dict[str, float | None] = {
    "navigation_30_steps": 5.0,
    "validate_10000_nodes": 1000.0,
    "resume": 5.0,
    "load_10000_nodes_from_yaml": None,  # no goal: PyYAML's pure-Python parser dominates
}


def _stub(params: Any, timeout: float) -> CheckReport:
    return CheckReport(True, "stubbed", {"latency_ms": 1.0})


def chain_tree(steps: int) -> dict[str, Any]:
    """question -> decision -> diagnostic, repeated, then an outcome."""
    nodes: dict[str, Any] = {}
    for i in range(steps // 3):
        nxt = f"q{i + 1}" if i + 1 < steps // 3 else "done"
        nodes[f"q{i}"] = {"type": "question", "text": f"Step {i}?", "fact": f"a{i}",
                          "branches": [{"equals": True, "goto": f"d{i}"},
                                       {"equals": False, "goto": "stop"}]}  # fmt: skip
        branches = [{"when": f"facts.a{i}", "goto": f"c{i}"}]
        nodes[f"d{i}"] = {"type": "decision", "branches": branches, "default": "stop"}
        nodes[f"c{i}"] = {"type": "diagnostic", "check": "tcp", "with": {"host": "h", "port": 1},
                          "fact": f"c{i}", "branches": [{"when": "result.ok", "goto": nxt}],
                          "default": "stop", "fallback": "stop"}  # fmt: skip
    nodes["done"] = {"type": "outcome", "result": "resolved", "summary": "done"}
    nodes["stop"] = {"type": "outcome", "result": "escalate", "summary": "stopped"}
    return {"id": "chain", "title": "Chain", "start": "q0", "nodes": nodes}


def wide_tree(count: int) -> dict[str, Any]:
    """``count`` nodes: a chain of questions, each also able to jump to a decision that
    reads the fact just set, and shared outcomes."""
    nodes: dict[str, Any] = {}
    questions = (count - 4) // 3
    for i in range(questions):
        nxt = f"q{i + 1}" if i + 1 < questions else "done"
        nodes[f"q{i}"] = {"type": "question", "text": f"Q{i}?", "fact": f"f{i}",
                          "branches": [{"equals": True, "goto": nxt},
                                       {"equals": False, "goto": f"d{i}"}]}  # fmt: skip
        nodes[f"d{i}"] = {"type": "decision", "branches": [{"when": f"facts.f{i} == false",
                                                            "goto": f"x{i}"}],
                          "default": "escalate"}  # fmt: skip
        nodes[f"x{i}"] = {"type": "diagnostic", "check": "ping", "with": {"host": "h"},
                          "fact": f"x{i}", "branches": [{"when": "result.ok", "goto": "fixed"}],
                          "default": "escalate", "fallback": "escalate",
                          "offline": "offline"}  # fmt: skip
    for name, result in (("done", "resolved"), ("fixed", "resolved"), ("escalate", "escalate"),
                         ("offline", "escalate")):  # fmt: skip
        nodes[name] = {"type": "outcome", "result": result, "summary": name}
    return {"id": "wide", "title": "Wide", "start": "q0", "nodes": nodes}


def _median_ms(run: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(3):
        began = time.perf_counter()
        for _ in range(repeat):
            run()
        runs.append((time.perf_counter() - began) * 1000 / repeat)
    return statistics.median(runs)


def _engine(folder: Path, name: str) -> TroubleshootingEngine:
    runner = DiagnosticRunner({"tcp": _stub, "ping": _stub})
    return TroubleshootingEngine(TreeCatalog.load(folder), SessionStore(folder / name), runner)


def measure(work: Path) -> dict[str, dict[str, float | None]]:
    trees = work / "trees"
    trees.mkdir()
    (trees / "chain.yaml").write_text(yaml.safe_dump(chain_tree(30), sort_keys=False))
    engine = _engine(trees, "sessions.db")

    def navigate() -> None:
        view = engine.start("chain", technician="elena")
        while view.prompt is not None:
            view = engine.answer(view.session.id, True)

    def navigate_naive() -> None:
        view = engine.start("chain", technician="elena")
        while view.prompt is not None:
            engine.trees = TreeCatalog.load(trees)  # a stateless handler reloads every call
            view = engine.answer(view.session.id, True)

    results: dict[str, dict[str, float | None]] = {}
    results["navigation_30_steps"] = {"gateway": _median_ms(navigate, 20),
                                      "baseline": _median_ms(navigate_naive, 5)}  # fmt: skip

    view = engine.start("chain", technician="elena")
    for _ in range(5):
        view = engine.answer(view.session.id, True)
    stopped = view.session.id
    engine.close()
    restarted = _engine(trees, "sessions.db")

    def replay() -> None:
        again = restarted.start("chain", technician="elena")
        for _ in range(5):
            again = restarted.answer(again.session.id, True)

    results["resume"] = {"gateway": _median_ms(lambda: restarted.resume(stopped), 200),
                         "baseline": _median_ms(replay, 5)}  # fmt: skip
    restarted.close()

    data = wide_tree(10_000)
    document = YamlDocument(work / "wide.yaml", data, {})

    def validate() -> None:
        definition = TreeDefinition.model_validate(data)
        if check_tree(definition, document):
            raise SystemExit("the generated tree does not validate")

    results["validate_10000_nodes"] = {
        "gateway": _median_ms(validate, 1),
        "baseline": _median_ms(lambda: TreeDefinition.model_validate(data), 1),
    }
    big = work / "wide.yaml"
    big.write_text(yaml.safe_dump(data, sort_keys=False))
    began = time.perf_counter()
    load_tree(big)
    results["load_10000_nodes_from_yaml"] = {"gateway": (time.perf_counter() - began) * 1000,
                                             "baseline": None}  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = measure(Path(folder))
    if args.json:
        print(json.dumps({"goals_ms": GOALS_MS, "results_ms": results}, indent=2))
        return
    for name, figures in results.items():
        gateway, baseline, goal = figures["gateway"] or 0.0, figures["baseline"], GOALS_MS[name]
        verdict = "no goal" if goal is None else "ok" if gateway < goal else "MISSED"
        line = f"{name:<27} {gateway:10.2f} ms  ({verdict}"
        line += ")" if goal is None else f", goal < {goal:g} ms)"
        if baseline is not None:
            line += f"  baseline {baseline:9.2f} ms  ratio {baseline / gateway:5.1f}x"
        print(line)


if __name__ == "__main__":
    main()
