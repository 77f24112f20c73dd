"""Every condition and template that ships gives, on sample scopes, the outcome recorded
from the language the definitions were written in before CEL (``benchmarks/cel_expected.json``;
``python -m benchmarks.cel_candidates`` runs the same check on the bare libraries too)."""

from __future__ import annotations

from typing import Any

from benchmarks.cel_shipped import load_expected, sample_scopes, shipped_texts
from gateway.expressions import ExpressionError, Scope, parse_expression, parse_template


def _outcome(kind: str, text: str, scope: dict[str, Any]) -> tuple[str, Any]:
    try:
        if kind == "template":
            return "ok", parse_template(text).render(Scope(scope))
        expression = parse_expression(text)
        value = (
            expression.evaluate_bool(scope) if kind == "condition" else expression.evaluate(scope)
        )
    except ExpressionError:
        return "error", None
    return "ok", value


def _typed(value: Any) -> Any:
    """``value`` with the type of every part, so that ``True`` never equals ``1``."""
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    return (type(value).__name__, value)


def test_the_shipped_texts_give_the_recorded_outcomes() -> None:
    expected = load_expected()
    scopes = sample_scopes()
    checked, wrong = 0, []
    for entry in shipped_texts():
        for index, scope in enumerate(scopes[entry.family]):
            want = expected.get((entry.kind, entry.family, entry.text, index))
            if want is None:
                continue  # a text added since; the benchmark names it
            checked += 1
            got = _outcome(entry.kind, entry.text, scope)
            if want[0] != got[0] or _typed(want[1]) != _typed(got[1]):
                wrong.append(f"{entry.sites[0]} sample {index}: expected {want}, found {got}")

    assert wrong == []
    assert checked >= 327
