"""``[privacy]``: sealing personal audit fields, the data key store, retention
(``docs/privacy.md``)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["PrivacySettings"]

_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*", re.ASCII)


class PrivacySettings(BaseModel):
    """How personal data in the audit log is sealed, erased and aged out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Seal personal payload fields with per-person data keys as records are appended.
    seal: bool = True
    # The data keys (a private SQLite file, apart from the log).
    key_store: Path = Path("var/privacy/data-keys.sqlite")
    # Days personal fields of an event type stay readable: `gateway privacy sweep` shreds
    # the data keys of older months (`{"decision" = 365, "ticket.routed" = 90}`).
    retention: dict[str, int] = Field(default_factory=dict)
    # Event types kept on erasure for legal reasons: a person's erasure leaves their keys
    # for these types until retention shreds them.
    keep_on_erasure: list[str] = Field(default_factory=list)

    @field_validator("retention")
    @classmethod
    def _known_shape(cls, value: dict[str, int]) -> dict[str, int]:
        for name, days in value.items():
            if _TYPE.fullmatch(name) is None:
                raise ValueError(f"retention: {name!r} is not an event type")
            if days < 1:
                raise ValueError(f"retention: {name}: days must be at least 1, found {days}")
        return value

    def resolved(self, base: Path) -> PrivacySettings:
        return self.model_copy(update={"key_store": base / self.key_store})
