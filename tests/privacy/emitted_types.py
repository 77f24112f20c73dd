"""Every audit event type the gateway's source can emit, found by reading the source.

A type reaches ``AuditEvent(type=...)`` as a literal, a module constant, an f-string with a
literal prefix, or a parameter named ``kind`` of a helper (``_record(kind, ...)``) that
forwards it, perhaps into an f-string (``f"stepup.{kind}"``).  Helpers are followed
transitively: a call ``self.name(...)`` or ``name(...)`` is matched with the helper of
that name in the same module, ``other.name(...)`` with helpers of that name elsewhere.
What cannot be resolved is reported, so a new way of naming a type fails the
classification test instead of slipping past it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "gateway"
_KIND_PARAMETERS = ("kind", "event_type")

# (module, helper name) -> every (argument index, prefix) through which it forwards a type
Forwarders = dict[tuple[Path, str], set[tuple[int, str]]]


@dataclass
class Scan:
    types: set[str] = field(default_factory=set)
    unresolved: list[str] = field(default_factory=list)


def _constants(trees: dict[Path, ast.Module]) -> dict[str, str]:
    found: dict[str, str] = {}
    for tree in trees.values():
        for node in tree.body:
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(node, ast.Assign):
                targets, value = list(node.targets), node.value
            elif isinstance(node, ast.AnnAssign):
                targets, value = [node.target], node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                for target in targets:
                    if isinstance(target, ast.Name) and target.id.isupper():
                        found[target.id] = value.value
    return found


def _helpers(
    call: ast.Call, module: Path, forwarders: Forwarders
) -> tuple[set[tuple[int, str]], bool]:
    """The forwarding entries ``call`` may reach, and whether the match is certain (same
    module) rather than by name only (another module's helper of that name)."""
    func = call.func
    if isinstance(func, ast.Name):  # a function of this module, or one imported by name
        local = forwarders.get((module, func.id))
        if local is not None or func.id.startswith("_"):  # a private name is never imported
            return local or set(), True
        return _elsewhere(func.id, module, forwarders), True
    if not isinstance(func, ast.Attribute):
        return set(), True
    if isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
        return forwarders.get((module, func.attr), set()), True
    return _elsewhere(func.attr, module, forwarders), False


def _elsewhere(wanted: str, module: Path, forwarders: Forwarders) -> set[tuple[int, str]]:
    found: set[tuple[int, str]] = set()
    for (where, name), entries in forwarders.items():
        if name == wanted and where != module:
            found |= entries
    return found


def _type_arguments(
    call: ast.Call, module: Path, forwarders: Forwarders
) -> list[tuple[ast.expr, str, bool]]:
    """The expressions that become the event type in ``call``, the prefix each gets, and
    whether the callee is certainly the one that forwards it."""
    if isinstance(call.func, ast.Name) and call.func.id == "AuditEvent":
        return [(kw.value, "", True) for kw in call.keywords if kw.arg == "type"]
    result: list[tuple[ast.expr, str, bool]] = []
    entries, certain = _helpers(call, module, forwarders)
    for index, prefix in sorted(entries):
        if len(call.args) > index:
            result.append((call.args[index], prefix, certain))
        else:
            result.extend((kw.value, prefix, certain) for kw in call.keywords if kw.arg == "kind")
    return result


def _forwarded(expr: ast.expr) -> tuple[str, str] | None:
    """``(prefix, name)`` for ``kind`` or ``f"prefix{kind}"``."""
    if isinstance(expr, ast.Name):
        return "", expr.id
    if (
        isinstance(expr, ast.JoinedStr)
        and len(expr.values) == 2
        and isinstance(expr.values[0], ast.Constant)
        and isinstance(expr.values[1], ast.FormattedValue)
        and isinstance(expr.values[1].value, ast.Name)
    ):
        return str(expr.values[0].value), expr.values[1].value.id
    return None


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    names = [arg.arg for arg in (*function.args.posonlyargs, *function.args.args)]
    return [name for name in names if name not in ("self", "cls")]


def _find_forwarders(trees: dict[Path, ast.Module]) -> Forwarders:
    forwarders: Forwarders = {}
    functions = [
        (path, node)
        for path, tree in trees.items()
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    changed = True
    while changed:
        changed = False
        for path, function in functions:
            params = _parameters(function)
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                for expr, outer, _ in _type_arguments(call, path, forwarders):
                    shape = _forwarded(expr)
                    if shape is None or shape[1] not in params or shape[1] not in _KIND_PARAMETERS:
                        continue
                    entry = (params.index(shape[1]), outer + shape[0])
                    entries = forwarders.setdefault((path, function.name), set())
                    if entry not in entries:
                        entries.add(entry)
                        changed = True
    return forwarders


def _values(
    expr: ast.expr, constants: dict[str, str], families: dict[str, tuple[str, ...]]
) -> list[str] | None:
    """The type names ``expr`` can spell, or ``None`` when it cannot be told."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, ast.Name) and expr.id in constants:
        return [constants[expr.id]]
    if isinstance(expr, ast.IfExp):
        body = _values(expr.body, constants, families)
        orelse = _values(expr.orelse, constants, families)
        return None if body is None or orelse is None else body + orelse
    if (
        isinstance(expr, ast.JoinedStr)
        and len(expr.values) == 2
        and isinstance(expr.values[0], ast.Constant)
        and str(expr.values[0].value) in families
    ):
        prefix = str(expr.values[0].value)
        return [prefix + member for member in families[prefix]]
    return None


def scan(root: Path = SOURCE, families: dict[str, tuple[str, ...]] | None = None) -> Scan:
    """``families`` spells f-strings over an enumeration: ``{"approval.": ("approved",
    ...)}`` for ``f"approval.{state}"``."""
    families = families or {}
    trees = {path: ast.parse(path.read_text(), str(path)) for path in sorted(root.rglob("*.py"))}
    constants = _constants(trees)
    forwarders = _find_forwarders(trees)
    result = Scan()
    for path, tree in trees.items():
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            for expr, prefix, certain in _type_arguments(call, path, forwarders):
                values = _values(expr, constants, families)
                if values is not None:
                    result.types.update(prefix + value for value in values)
                    continue
                shape = _forwarded(expr)
                forwarded = shape is not None and shape[1] in _KIND_PARAMETERS
                # A call by name into another module may be an unrelated method that
                # shares the helper's name (``base.record(trail)``): only certain matches
                # must resolve; an event built by a call is found at that call.
                direct = isinstance(call.func, ast.Name) and call.func.id == "AuditEvent"
                built = isinstance(expr, ast.Call) and not direct
                if certain and not forwarded and not built:
                    result.unresolved.append(f"{path.relative_to(root.parent)}:{call.lineno}")
    return result


if __name__ == "__main__":
    found = scan()
    print("\n".join(sorted(found.types)))
    print("unresolved:", found.unresolved)
