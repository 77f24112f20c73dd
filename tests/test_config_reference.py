"""``docs/configuration.md`` lists every table and key of ``gateway.toml`` as the models
define them."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from gateway.config_reference import BEGIN, END, main, reference, rewrite

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_the_documented_reference_is_the_models_one() -> None:
    text = DOC.read_text(encoding="utf-8")

    assert rewrite(text) == text, "run: python -m gateway.config_reference docs/configuration.md"


@pytest.mark.parametrize("section", list(GatewayConfig.model_fields))
def test_every_key_of_every_table_is_documented(section: str) -> None:
    model = type(getattr(GatewayConfig(), section))
    blocks = {block.split("`", 1)[0]: block for block in reference().split("### `")}

    for key in model.model_fields:
        if f"{key}_env" not in model.model_fields:  # a secret is shown by its variable
            assert f"| `{key}` |" in blocks[f"[{section}]"], f"[{section}] {key}"


def test_the_command_rewrites_only_the_generated_part(tmp_path: Path) -> None:
    page = tmp_path / "configuration.md"
    page.write_text(f"# Title\n\n{BEGIN}\nout of date\n{END}\n\nAfter.\n", encoding="utf-8")

    assert main([str(page)]) == 0

    text = page.read_text(encoding="utf-8")
    assert text.startswith(f"# Title\n\n{BEGIN}\n\n### `[policy]`")
    assert text.endswith(f"{END}\n\nAfter.\n")
    assert "out of date" not in text
