"""Step-up settings and their limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.stepup import StepUpSettings


def test_the_defaults_are_the_documented_ones() -> None:
    settings = StepUpSettings()
    assert settings.database == Path("var/stepup.db")
    assert settings.seed_key_file == Path("keys/stepup-seeds.key")
    assert (settings.valid_window, settings.max_failures) == (1, 5)
    assert (settings.failure_window_seconds, settings.lockout_seconds) == (900, 900)
    assert (settings.recovery_code_count, settings.recovery_scrypt_n) == (10, 2**14)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_failures": 0}, "max_failures: Input should be greater than or equal to 1"),
        ({"valid_window": -1}, "valid_window: Input should be greater than or equal to 0"),
        ({"valid_window": 4}, "valid_window: Input should be less than or equal to 3"),
        ({"lockout_seconds": True}, "lockout_seconds: Input should be a valid integer"),
        ({"recovery_scrypt_n": 1000}, "recovery_scrypt_n: Value error, expected a power of two"),
        ({"issuer": ""}, "issuer: String should have at least 1 character"),
        ({"issuer": "a:b"}, "issuer: Value error, expected a name without ':'"),
    ],
    ids=[
        "no failures allowed",
        "a negative window",
        "a window wider than three steps",
        "a boolean for a number",
        "a scrypt cost that is not a power of two",
        "an empty issuer",
        "an issuer with a colon",
    ],
)
def test_a_bad_setting_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        StepUpSettings(**change)
    error = caught.value.errors(include_url=False)[0]
    assert f"{error['loc'][0]}: {error['msg']}".startswith(message)


def test_the_stepup_table_is_these_settings_with_its_switch(tmp_path: Path) -> None:
    from gateway.config import StepUpConfig, load_config

    path = tmp_path / "gateway.toml"
    path.write_text('[stepup]\nissuer = "Example Corp"\nhistory_seconds = 7200\n')

    stepup = load_config(path).stepup

    assert isinstance(stepup, StepUpSettings)
    assert isinstance(stepup, StepUpConfig)
    assert (stepup.issuer, stepup.history_seconds, stepup.enabled) == ("Example Corp", 7200, True)
