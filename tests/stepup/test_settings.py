"""Step-up settings and their limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.errors import ConfigError
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
        ({"max_failures": 0}, "stepup.max_failures: expected an integer >= 1, found 0"),
        ({"valid_window": -1}, "stepup.valid_window: expected an integer >= 0, found -1"),
        ({"lockout_seconds": True}, "stepup.lockout_seconds: expected an integer >= 1, found True"),
        ({"recovery_scrypt_n": 1000}, "recovery_scrypt_n: expected a power of two, found 1000"),
        ({"issuer": ""}, "stepup.issuer: expected a non-empty name without ':', found ''"),
        ({"issuer": "a:b"}, "stepup.issuer: expected a non-empty name without ':', found 'a:b'"),
    ],
    ids=[
        "no failures allowed",
        "a negative window",
        "a boolean for a number",
        "a scrypt cost that is not a power of two",
        "an empty issuer",
        "an issuer with a colon",
    ],
)
def test_a_bad_setting_is_a_config_error(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        StepUpSettings(**change)
    assert message in str(caught.value)
