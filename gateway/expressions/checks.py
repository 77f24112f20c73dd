"""What the library does not refuse when it compiles, refused when a definition loads.

``cel`` compiles an unknown function, a wrong number of arguments, a comprehension macro or
a ``matches()`` pattern that is not a regular expression without a word; they would fail (or
run without bound) only when evaluated.  ``inspect(text, program)`` refuses them at load,
each with its column, and gives the dotted paths the text reads from its scope, so that the
loaders can refuse a name their scope does not have.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from gateway.expressions.tokens import Token, tokenize

if TYPE_CHECKING:
    import cel  # imported on first use: see compile_cel

__all__ = [
    "FUNCTIONS",
    "MACROS",
    "TYPE_NAMES",
    "Refusal",
    "inspect",
    "references",
    "split_reference",
    "write_reference",
]

FUNCTIONS = frozenset(
    {
        # the CEL operators
        "!_", "-_", "@in", "_!=_", "_%_", "_&&_", "_*_", "_+_", "_-_", "_/_", "_<=_", "_<_",
        "_==_", "_>=_", "_>_", "_?_:_", "_[_]", "_||_",
        # the CEL standard functions the gateway allows
        "contains", "double", "dyn", "endsWith", "int", "matches", "size", "startsWith",
        "string", "type", "uint",
        # the gateway's own
        "text",
    }
)  # fmt: skip
"""Operators and functions an expression may call (``has()`` is a macro, always allowed)."""

ARITY: dict[str, tuple[int | None, int | None]] = {
    "size": (1, 0),
    "contains": (None, 1),
    "startsWith": (None, 1),
    "endsWith": (None, 1),
    "int": (1, None),
    "uint": (1, None),
    "double": (1, None),
    "string": (1, None),
    "type": (1, None),
    "dyn": (1, None),
    "text": (1, None),
}
"""Arguments of each function called as ``f(...)`` and as ``x.f(...)`` (None: not that way);
``matches()`` is checked with its pattern."""

MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
"""Comprehension macros: their cost grows with the data, so no definition may use them."""

TYPE_NAMES = frozenset(
    {"bool", "bytes", "double", "int", "list", "map", "null_type", "string", "type", "uint"}
)
"""Names of CEL types (``type(x) == int``): never read from the scope."""


class Refusal(ValueError):
    """A text the gateway refuses: ``problem`` at ``offset`` (0-based, in the text)."""

    def __init__(self, problem: str, offset: int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.offset = offset


def _calls(tokens: list[Token]) -> Iterator[tuple[int, Token]]:
    """Each name that is called, ``f(...)`` or ``x.f(...)``, with its index."""
    for index, token in enumerate(tokens[:-1]):
        if token.kind == "name" and tokens[index + 1].text == "(":
            yield index, token


def inspect(text: str, program: cel.Program) -> frozenset[str]:
    """The references of ``text`` (see ``references``), once it passes the checks: raise
    ``Refusal`` for a macro, a function outside ``FUNCTIONS`` or called with the wrong
    number of arguments (``ARITY``), or a ``matches()`` whose pattern is not a string literal
    that compiles."""
    tokens = tokenize(text)
    found = program.references()
    for name in found["variables"]:
        if name.startswith("."):  # CEL's absolute names, which the library cannot resolve
            where = next(t.offset for t in tokens if t.text == name[1:])
            raise Refusal(f"write {name[1:]} without the leading dot", where - 1)
    _check(tokens, found["functions"])
    return references(tokens, found["variables"])


def _check(tokens: list[Token], functions: list[str]) -> None:
    calls = list(_calls(tokens))
    for _, token in calls:
        if token.text in MACROS:
            raise Refusal(
                f"the macro {token.text}() is not allowed: its cost grows with data", token.offset
            )
    for name in functions:
        if name not in FUNCTIONS:
            where = next((t.offset for _, t in calls if t.text == name), 0)
            raise Refusal(f"unknown function {name}()", where)
    for index, token in calls:
        if token.text == "matches":
            _check_pattern(tokens, index)
        elif token.text in ARITY:
            _check_arity(tokens, index)


def _check_arity(tokens: list[Token], index: int) -> None:
    name = tokens[index]
    method = index > 0 and tokens[index - 1].text == "."
    wanted = ARITY[name.text][1 if method else 0]
    depth, count, position = 1, 0, index + 2
    while depth:  # the library has parsed the text: every bracket closes
        text = tokens[position].text
        depth += (text in ("(", "[", "{")) - (text in (")", "]", "}"))
        count += depth == 1 and text == ","
        position += 1
    count += tokens[index + 2].text != ")"
    if wanted is None:
        form = f"x.{name.text}()" if method else f"{name.text}(x)"
        raise Refusal(f"{name.text}() cannot be called as {form}", name.offset)
    if count != wanted:
        plural = "" if wanted == 1 else "s"
        raise Refusal(
            f"{'x.' if method else ''}{name.text}() takes {wanted} argument{plural}, found {count}",
            name.offset,
        )


def _check_pattern(tokens: list[Token], index: int) -> None:
    name = tokens[index]
    pattern = tokens[index + 2] if index + 3 < len(tokens) else None
    method = index > 0 and tokens[index - 1].text == "."
    if not method or pattern is None or pattern.kind != "string" or tokens[index + 3].text != ")":
        raise Refusal("write text.matches('pattern'), the pattern as a string literal", name.offset)
    import cel

    try:
        cel.evaluate(f"''.matches({pattern.text})")
    except Exception:  # the library says only that the pattern is not a valid one
        raise Refusal(
            "matches() pattern is not a valid regular expression", pattern.offset
        ) from None


def _key(token: Token) -> str | int | None:
    """The key a subscript ``[token]`` reads, when it is a literal."""
    if token.kind == "string" and token.text[0] not in "bB":
        import cel

        value = cel.evaluate(token.text)
        return value if isinstance(value, str) else None
    if token.kind == "number" and token.text.isdigit():
        return int(token.text)
    return None


def _selected(tokens: list[Token], index: int) -> bool:
    """Whether the name at ``index`` is a field of what comes before (``x.name``)."""
    return (
        index > 0
        and tokens[index - 1].text == "."
        and index > 1
        and (
            tokens[index - 2].kind in ("name", "string", "number")
            or tokens[index - 2].text in (")", "]", "}")
        )
    )


def _path(tokens: list[Token], index: int) -> list[str | int]:
    keys: list[str | int] = [tokens[index].text]
    index += 1
    while index + 1 < len(tokens):
        token, following = tokens[index], tokens[index + 1]
        if token.text == "." and following.kind == "name":
            if index + 2 < len(tokens) and tokens[index + 2].text == "(":
                break  # a method call on the path
            keys.append(following.text)
            index += 2
        elif token.text == "[" and index + 2 < len(tokens) and tokens[index + 2].text == "]":
            key = _key(following)
            if key is None:
                break
            keys.append(key)
            index += 3
        else:
            break
    return keys


def write_reference(keys: list[str | int] | tuple[str | int, ...]) -> str:
    """The canonical text of a path: ``steps["tell-user"].output``, ``items[0].name``."""
    parts = [str(keys[0])]
    for key in keys[1:]:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif key.isidentifier() and key.isascii():
            parts.append(f".{key}")
        else:
            parts.append(f"[{json.dumps(key)}]")
    return "".join(parts)


def references(tokens: list[Token], variables: list[str]) -> frozenset[str]:
    """The paths a text reads from its scope, each up to its first computed subscript or
    method call (``steps.reset.output.ok``, ``params.user`` of ``params.user.size()``);
    ``variables`` are the names the library found."""
    roots = set(variables) - TYPE_NAMES
    found: set[str] = set()
    seen: set[str] = set()
    for index, token in enumerate(tokens):
        if token.kind != "name" or token.text not in roots or _selected(tokens, index):
            continue
        if index + 1 < len(tokens) and tokens[index + 1].text == "(":
            continue
        found.add(write_reference(_path(tokens, index)))
        seen.add(token.text)
    return frozenset(found | (roots - seen))


_REFERENCE_PART = re.compile(r'\.([_A-Za-z][_A-Za-z0-9]*)|\[(-?[0-9]+)\]|\[("(?:[^"\\]|\\.)*")\]')
_ROOT = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")


def split_reference(reference: str) -> tuple[str | int, ...]:
    """The keys and indices of a reference: ``steps["tell-user"].output`` gives
    ``("steps", "tell-user", "output")``.  Raises ``ValueError`` for anything that is not
    a reference as ``references()`` writes them."""
    root = _ROOT.match(reference)
    if root is None:
        raise ValueError("not a reference")
    keys: list[str | int] = [root.group()]
    position = root.end()
    while position < len(reference):
        part = _REFERENCE_PART.match(reference, position)
        if part is None:
            raise ValueError("not a reference")
        name, index, quoted = part.groups()
        keys.append(
            name if name is not None else int(index) if index is not None else json.loads(quoted)
        )
        position = part.end()
    return tuple(keys)
