"""Settings of step-up verification, with the embedded defaults.

The same model is the ``[stepup]`` table of ``gateway.toml`` (``gateway.config.StepUpConfig``
adds only the ``enabled`` switch); relative paths are resolved by the configuration loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DEFAULT_DATABASE", "DEFAULT_SEED_KEY_FILE", "StepUpSettings"]

DEFAULT_DATABASE = Path("var/stepup.db")
DEFAULT_SEED_KEY_FILE = Path("keys/stepup-seeds.key")


def _count(minimum: int, maximum: int | None = None) -> Any:
    return Field(strict=True, ge=minimum, le=maximum)


class StepUpSettings(BaseModel):
    """Where state lives and the limits that protect it.

    ``valid_window`` time steps (30 s each) are accepted either side of the current one.
    ``max_failures`` refused attempts within ``failure_window_seconds`` lock step-up for
    the user for ``lockout_seconds``.  ``recovery_scrypt_n`` is the scrypt cost (a power
    of two) used to hash recovery codes.  Step-ups older than ``history_seconds`` are
    pruned; it must exceed every ``max_age`` a policy asks for.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    database: Path = DEFAULT_DATABASE
    seed_key_file: Path = DEFAULT_SEED_KEY_FILE
    create_seed_key: bool = True
    issuer: str = Field(default="IT Support Gateway", min_length=1)
    valid_window: Annotated[int, _count(0, 3)] = 1
    max_failures: Annotated[int, _count(1)] = 5
    failure_window_seconds: Annotated[int, _count(1)] = 900
    lockout_seconds: Annotated[int, _count(1)] = 900
    recovery_code_count: Annotated[int, _count(1, 50)] = 10
    recovery_scrypt_n: Annotated[int, _count(2)] = 2**14
    history_seconds: Annotated[int, _count(1)] = 86_400

    @field_validator("issuer")
    @classmethod
    def _check_issuer(cls, value: str) -> str:
        if ":" in value:
            raise ValueError("expected a name without ':'")
        return value

    @field_validator("recovery_scrypt_n")
    @classmethod
    def _check_scrypt_cost(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError(f"expected a power of two, found {value}")
        return value
