"""Settings of step-up verification, with the embedded defaults.

The configuration model (``[stepup]`` in ``gateway.toml``, ``gateway.config.StepUpConfig``)
builds one of these; relative paths are resolved by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from gateway.errors import ConfigError

__all__ = ["DEFAULT_DATABASE", "DEFAULT_SEED_KEY_FILE", "StepUpSettings"]

DEFAULT_DATABASE = Path("var/stepup.db")
DEFAULT_SEED_KEY_FILE = Path("keys/stepup-seeds.key")

_MINIMUMS = {
    "valid_window": 0,
    "max_failures": 1,
    "failure_window_seconds": 1,
    "lockout_seconds": 1,
    "recovery_code_count": 1,
    "recovery_scrypt_n": 2,
    "history_seconds": 1,
}


@dataclass(frozen=True, slots=True)
class StepUpSettings:
    """Where state lives and the limits that protect it.

    ``valid_window`` time steps (30 s each) are accepted either side of the current one.
    ``max_failures`` refused attempts within ``failure_window_seconds`` lock step-up for
    the user for ``lockout_seconds``.  ``recovery_scrypt_n`` is the scrypt cost (a power
    of two) used to hash recovery codes.  Step-ups older than ``history_seconds`` are
    pruned; it must exceed every ``max_age`` a policy asks for.
    """

    database: Path = DEFAULT_DATABASE
    seed_key_file: Path = DEFAULT_SEED_KEY_FILE
    create_seed_key: bool = True
    issuer: str = "IT Support Gateway"
    valid_window: int = 1
    max_failures: int = 5
    failure_window_seconds: int = 900
    lockout_seconds: int = 900
    recovery_code_count: int = 10
    recovery_scrypt_n: int = 2**14
    history_seconds: int = 86_400

    def __post_init__(self) -> None:
        for item in fields(self):
            minimum = _MINIMUMS.get(item.name)
            value = getattr(self, item.name)
            if minimum is not None and (type(value) is not int or value < minimum):
                raise ConfigError(
                    f"stepup.{item.name}: expected an integer >= {minimum}, found {value!r}"
                )
        if self.recovery_scrypt_n & (self.recovery_scrypt_n - 1):
            raise ConfigError(
                f"stepup.recovery_scrypt_n: expected a power of two, found {self.recovery_scrypt_n}"
            )
        if not self.issuer or ":" in self.issuer:
            raise ConfigError(
                f"stepup.issuer: expected a non-empty name without ':', found {self.issuer!r}"
            )
