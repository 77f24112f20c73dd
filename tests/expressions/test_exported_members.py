"""The public names of ``gateway.expressions``."""

from __future__ import annotations

import gateway.expressions


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(gateway.expressions) if not name.startswith("_")}
    modules = {
        "checks",
        "engine",
        "errors",
        "expression",
        "limits",
        "nested",
        "template",
        "text",
        "tokens",
    }
    assert set(gateway.expressions.__all__) == public - modules
    assert sorted(gateway.expressions.__all__) == list(gateway.expressions.__all__)
