"""Error messages and limits of the gateway's CEL wrapper, next to the bare libraries.

Used by ``benchmarks.cel_candidates``.  Probes that may crash the interpreter (deep or long
expressions) run in a child process each, so a crash is reported, not suffered.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import cel
import celpy
from pydantic import SecretStr

from benchmarks.cel_engines import plain
from gateway.expressions import ExpressionSyntaxError, parse_expression
from gateway.expressions.expression import _parse_expression
from gateway.expressions.limits import MAX_EXPRESSION_LENGTH

SECRET = "S3cret-Hunter2"  # a value in the scope that no message may show

# (what, CEL text): errors a loader must report with a position
SYNTAX = [
    ("unclosed parenthesis", "ticket.priority <= 2 && (x"),
    ("unclosed string", "target.status == 'disabled"),
    ("Python's `and` written in CEL", "a and b"),
    ("dangling operator, second line", "requester.id == target.id &&\n  requester.mfa_enrolled &&"),
]
# (what, CEL text): mistakes a loader wants to catch before any run
LATE = [
    ("unknown function", "now() > 3"),
    ("wrong argument count", "size(a, b) > 0"),
    ("bad regular expression", "a.matches('(')"),
    ("comprehension macro", "xs.all(x, x > 0)"),
]
# (what, CEL text) evaluated on a scope holding SECRET
RUNTIME = [
    ("missing key (step not run)", "steps.unlock.output.changed"),
    ("typo in a root name", "param.user == 'tom'"),
    ("field of null", "target.privileged"),
    ("string + int", "params.password + 1"),
    ("int() of a non-number", "int(params.password)"),
    ("a key computed from a secret", "{'a': 1}[params.password]"),
]
# (CEL text, what the CEL specification gives, as Python's repr)
CONFORMANCE = [
    ("string(true)", "'true'"),
    ("1 == 1.0", "True"),
    ("{'a': 1} != null", "True"),
    ("407 == null", "False"),
    ("size('héllo')", "5"),
    ("'ABC'.lowerAscii()", "'abc' (strings extension)"),
    ("[1, 2].exists(x, x > 1)", "True"),
]
_SCOPE = {
    "params": {"user": "tom", "password": SECRET},
    "steps": {},
    "target": None,
    "a": "x",
    "b": "y",
}

_CELPY = celpy.Environment()


def _celpy_compile(text: str) -> Any:
    return _CELPY.program(_CELPY.compile(text))


def _celpy_run(program: Any, scope: dict[str, Any]) -> Any:
    value = program.evaluate({k: celpy.json_to_cel(v) for k, v in scope.items()})
    if isinstance(value, celpy.CELEvalError):
        raise value
    return value


_Engine = tuple[Callable[[str], Any], Callable[[Any, dict[str, Any]], Any]]
ENGINES: dict[str, _Engine] = {
    "gateway": (lambda t: _parse_expression.__wrapped__(t), lambda p, s: p.evaluate(s)),
    "cel (Rust)": (cel.compile, lambda p, s: p.execute(s)),
    "celpy": (_celpy_compile, _celpy_run),
}


def _position(exc: Exception) -> tuple[int, int] | None:
    """(line, column), 1-based, of a syntax error, when the library gives one."""
    if isinstance(exc, ExpressionSyntaxError | celpy.CELParseError):
        return exc.line, exc.column
    found = re.search(r"<input>:(\d+):(\d+)", str(exc))
    return None if found is None else (int(found[1]), int(found[2]))


def _first_line(exc: BaseException, limit: int = 110) -> str:
    """The exception's class and the first line of its message (the Rust library's syntax
    errors: the part after the position; celpy's: the source line, it has no other text)."""
    text = str(exc).strip() or type(exc).__name__
    found = re.search(r"ERROR: <input>:\d+:\d+: ([^\n]*)", text)
    if found is not None:
        text = found[1]
    lines = [line for line in text.splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:limit]}"


def _try(name: str, text: str, scope: dict[str, Any]) -> dict[str, Any]:
    compile_, run = ENGINES[name]
    try:
        program = compile_(text)
    except Exception as exc:
        return {
            "when": "compile",
            "message": _first_line(exc),
            "position": _position(exc),
            "leaks": SECRET in str(exc),
        }
    try:
        run(program, scope)
    except Exception as exc:
        return {
            "when": "run",
            "message": _first_line(exc),
            "position": None,
            "leaks": SECRET in str(exc),
        }
    return {"when": "never", "message": "accepted", "position": None, "leaks": False}


def errors() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for group, cases in (("syntax", SYNTAX), ("late", LATE), ("runtime", RUNTIME)):
        found[group] = [
            {"what": what, **{name: _try(name, text, _SCOPE) for name in ENGINES}}
            for what, text in cases
        ]
    found["mapped"] = _mapped()
    opaque = {"params": {"user": "tom", "token": SecretStr(SECRET)}}
    found["opaque"] = {name: _try(name, "params.user", opaque) for name in ENGINES}
    found["conformance"] = [
        {
            "text": text,
            "spec": spec,
            **{name: _value(name, text) for name in ENGINES if name != "gateway"},
        }
        for text, spec in CONFORMANCE
    ]
    return found


def _value(name: str, text: str) -> str:
    compile_, run = ENGINES[name]
    try:
        value = run(compile_(text), {})
    except Exception as exc:
        return _first_line(exc, 60)
    return repr(plain(value))


def _mapped() -> list[str]:
    """A shipped condition broken in memory, reported as file:line and column."""
    from benchmarks.cel_shipped import shipped_texts

    entry = next(e for e in shipped_texts() if e.kind == "condition")
    site = entry.sites[0]
    lines = []
    for name, (compile_, _) in ENGINES.items():
        broken = entry.text + " &&"
        try:
            compile_(broken)
        except Exception as exc:
            where = _position(exc)
            column = f"column {where[1]}" if where else "no position"
            lines.append(f"{name}: {site}: {column}: {_first_line(exc, 80)}")
    return lines


# -- limits ------------------------------------------------------------------------------

_CHILD = {
    "gateway": "from gateway.expressions import parse_expression as c\n"
    "r = lambda t: c(t).evaluate({'a': 1})\n",
    "cel (Rust)": "import cel\nr = lambda t: cel.compile(t).execute({'a': 1})\n",
    "celpy": "import celpy\ne = celpy.Environment()\n"
    "r = lambda t: e.program(e.compile(t)).evaluate({'a': celpy.json_to_cel(1)})\n",
}


def _child(name: str, text_code: str, *, thread: bool = False) -> str:
    """Compile and run one expression in a child process (in a thread of it if ``thread``,
    as a server's worker would); its outcome in a few words."""
    code = (
        _CHILD[name]
        + f"t = {text_code}\ndef go():\n  try:\n    r(t)\n    print('ok')\n"
        + "  except BaseException as x:\n    print(type(x).__name__)\n"
        + (
            "import threading\nw = threading.Thread(target=go)\nw.start()\nw.join()\n"
            if thread
            else "go()\n"
        )
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    if done.returncode < 0:
        return f"crash (signal {-done.returncode})"
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "no output"


# the deepest trees that fit in the 4,096 characters the gateway allows an expression
_SHAPES = {
    "!!...!a": "'!' * 4095 + 'a'",
    "--...-1": "'-' * 4095 + '1'",
    "a||a||...": "'||'.join(['a'] * 1365)",
    "a.b.b...": "'a' + '.b' * 2047",
    "a ? a : a ? ...": "'a' + '?a:a' * 1023",
}


def _timed(call: Callable[[], Any]) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        call()
        outcome = "ok"
    except Exception as exc:
        outcome = _first_line(exc, 60)
    return time.perf_counter() - start, outcome


def limits() -> dict[str, Any]:
    found: dict[str, Any] = {
        "nesting": {
            name: {
                depth: _child(name, f"'(' * {depth} + 'a' + ')' * {depth}")
                for depth in (32, 33, 95, 96, 200, 1000)
            }
            for name in ENGINES
        },
        "flat_chain": {
            name: {
                terms: _child(name, f"'+'.join(['a'] * {terms})")
                for terms in (250, 300, 2048, 15000)
            }
            for name in ENGINES
        },
        "shapes_4096": {
            shape: _child("cel (Rust)", code, thread=True) for shape, code in _SHAPES.items()
        },
        "shapes_4096_gateway": {
            shape: _child("gateway", code, thread=True) for shape, code in _SHAPES.items()
        },
        "flat_chain_thread": {
            terms: _child("cel (Rust)", f"'+'.join(['a'] * {terms})", thread=True)
            for terms in (2048, 5000, 10000)
        },
    }
    xs = list(range(300))
    big = "x" * 100_000
    found["comprehension"] = {
        "gateway 300^3 all": _timed(
            lambda: parse_expression("xs.all(a, xs.all(b, xs.all(c, c >= 0)))").evaluate({"xs": xs})
        ),
        "cel (Rust) 300x300 map": _timed(
            lambda: cel.compile("xs.map(a, xs.map(b, a + b)).size()").execute({"xs": xs})
        ),
        "cel (Rust) 300^3 all": _timed(
            lambda: cel.compile("xs.all(a, xs.all(b, xs.all(c, c >= 0)))").execute({"xs": xs})
        ),
        "celpy 100x100 map": _timed(
            lambda: _celpy_run(
                _celpy_compile("xs.map(a, xs.map(b, a + b)).size()"), {"xs": xs[:100]}
            )
        ),
    }
    found["string_200k"] = {
        "gateway": _timed(lambda: parse_expression("s + s").evaluate({"s": big})),
        "cel (Rust)": _timed(lambda: cel.compile("s + s").execute({"s": big})),
        "celpy": _timed(lambda: _celpy_run(_celpy_compile("s + s"), {"s": big})),
    }
    found["overflow"] = {
        name: _try(name, "9223372036854775807 + a", {"a": 1})["message"] for name in ENGINES
    }
    text = "a" * 5_000 + "b"
    found["regex"] = {
        "gateway": _timed(lambda: parse_expression("s.matches('(a+)+$')").evaluate({"s": text})),
        "cel (Rust)": _timed(lambda: cel.compile("s.matches('(a+)+$')").execute({"s": text})),
        "celpy": _timed(lambda: _celpy_run(_celpy_compile("s.matches('(a+)+$')"), {"s": text})),
    }
    found["gil"] = _gil()
    found["startup_ms"] = {name: _startup(code) for name, code in _STARTUP.items()}
    found["recursion_limit_after_celpy"] = sys.getrecursionlimit()
    return found


_STARTUP = {
    "cel (Rust)": "import cel",
    "celpy": "import celpy\ncelpy.Environment()",
}


def _startup(code: str) -> float:
    """Milliseconds to import (and set up) a library in a fresh interpreter; best of 3."""
    timed = f"import time\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
    runs = [
        subprocess.run([sys.executable, "-c", timed], capture_output=True, text=True, check=True)
        for _ in range(3)
    ]
    return min(float(run.stdout.strip().splitlines()[-1]) for run in runs) * 1000


def _gil() -> dict[str, float]:
    """Main-thread wake-ups (1 ms sleeps) while a Rust evaluation runs in another thread."""
    xs = list(range(150))
    program = cel.compile("xs.all(a, xs.all(b, xs.all(c, c >= 0)))")
    worker = threading.Thread(target=lambda: program.execute({"xs": xs}))
    start = time.perf_counter()
    worker.start()
    ticks = 0
    while worker.is_alive():
        time.sleep(0.001)
        ticks += 1
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "wakeups": ticks, "expected": elapsed / 0.001}


def run_all() -> dict[str, Any]:
    return {"errors": errors(), "limits": limits()}


# -- report ------------------------------------------------------------------------------


def _cell(outcome: dict[str, Any]) -> str:
    where = outcome["position"]
    at = f" **at {where[0]}:{where[1]}**" if where else ""
    leak = " **shows the secret**" if outcome["leaks"] else ""
    message = outcome["message"].replace("|", "\\|").replace("\n", " ")
    return f"{outcome['when']}{at}{leak}: `{message}`"


def print_report(probes: dict[str, Any]) -> None:
    found = probes["errors"]
    titles = {
        "syntax": "Syntax errors (position = line:column in the expression)",
        "late": "Mistakes a loader should catch at load time (compile) rather than at run",
        "runtime": f"Evaluation errors (the scope holds the secret {SECRET!r})",
    }
    for group, title in titles.items():
        print(f"## {title}\n")
        print("| case | " + " | ".join(ENGINES) + " |")
        print("|---|" + "---|" * len(ENGINES))
        for case in found[group]:
            print(f"| {case['what']} | " + " | ".join(_cell(case[n]) for n in ENGINES) + " |")
        print()
    print("## CEL as specified (core library only, no extensions)\n")
    names = [name for name in ENGINES if name != "gateway"]
    print("| CEL | specification | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for case in found["conformance"]:
        cells = " | ".join(f"`{case[n]}`".replace("|", "\\|") for n in names)
        print(f"| `{case['text']}` | `{case['spec']}` | {cells} |")
    print()
    print("`params.user` on a scope that also holds an opaque value (a `SecretStr` token):\n")
    for name, outcome in found["opaque"].items():
        print(f"- {name}: {_cell(outcome)}")
    print()
    print("A shipped condition with a dangling operator, as a loader would report it:\n")
    for line in found["mapped"]:
        print(f"    {line}")
    print()
    limits_ = probes["limits"]
    print("## Limits\n")
    print("Parenthesis nesting, each in a child process (depth: outcome):\n")
    for name, outcomes in limits_["nesting"].items():
        print(f"- {name}: " + ", ".join(f"{d}: {o}" for d, o in outcomes.items()))
    print("\nA flat chain `a+a+...+a` (terms: outcome; 2,048 terms fit in 4,096 characters):\n")
    for name, outcomes in limits_["flat_chain"].items():
        print(f"- {name}: " + ", ".join(f"{n:,}: {o}" for n, o in outcomes.items()))
    print(
        "- cel (Rust) in a thread: "
        + ", ".join(f"{n:,}: {o}" for n, o in limits_["flat_chain_thread"].items())
    )
    for key, name in (("shapes_4096", "cel (Rust)"), ("shapes_4096_gateway", "gateway")):
        print(
            f"- {name}, the deepest shapes within {MAX_EXPRESSION_LENGTH:,} characters, in a "
            "thread (with a = 1: an error is fine, a crash is not): "
            + ", ".join(f"`{shape}` {o}" for shape, o in limits_[key].items())
        )
    print("\nNested comprehensions over a list from the scope (no cost limit stops them):\n")
    for what, (seconds, outcome) in limits_["comprehension"].items():
        print(f"- {what}: {seconds:.2f} s, {outcome}")
    print("\n`s + s` with a 100,000-character `s`:\n")
    for name, (seconds, outcome) in limits_["string_200k"].items():
        print(f"- {name}: {outcome} ({seconds * 1000:.1f} ms)")
    print("\n`9223372036854775807 + 1`:\n")
    for name, message in limits_["overflow"].items():
        print(f"- {name}: {message}")
    print("\n`(a+)+$` on 5,000 `a` and a `b` (catastrophic for backtracking engines):\n")
    for name, outcome in limits_["regex"].items():
        shown = outcome if isinstance(outcome, str) else f"{outcome[1]} in {outcome[0]:.4f} s"
        print(f"- {name}: {shown}")
    gil = limits_["gil"]
    print(
        f"\nWhile a {gil['seconds']:.2f} s Rust evaluation runs in a thread, the main thread "
        f"woke {gil['wakeups']} times of about {gil['expected']:.0f} (the GIL is held).\n"
        "Added start-up (import and set-up in a fresh interpreter, best of 3): "
        + ", ".join(f"{n} {ms:.0f} ms" for n, ms in limits_["startup_ms"].items())
        + ".\n"
        f"`celpy.Environment()` left `sys.getrecursionlimit()` at "
        f"{limits_['recursion_limit_after_celpy']} for the whole process.\n"
    )
