"""``[offline]``: field kits for disconnected on-site work (``docs/offline.md``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_CENTRAL_ACTIONS", "OfflineSettings"]

# Actions that change a central system (the directory): never run on a field kit; they
# are refused offline and can be queued for when the laptop is back.
DEFAULT_CENTRAL_ACTIONS = (
    "password.reset",
    "account.unlock",
    "access.grant",
    "access.revoke",
    "stepup.enrol",
    "stepup.reset",
)


class OfflineSettings(BaseModel):
    """Where kits and segments go and what a kit may never do offline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The central audit key a kit must be signed by; default: the ``.pub`` next to
    # ``[audit] signing_key``.
    central_public_key: Path | None = None
    kits: Path = Path("var/offline/kits")  # where ``offline prepare`` writes kits
    quarantine: Path = Path("var/offline/quarantine")  # refused segments, with the reason
    max_valid_hours: int = Field(default=168, ge=1)  # the longest validity a kit may have
    central_actions: list[str] = Field(default=list(DEFAULT_CENTRAL_ACTIONS))
    # Set by ``gateway --offline KIT``: the kit in use and the segment its records go to.
    kit: Path | None = None
    segment: Path | None = None

    def resolved(self, base: Path) -> OfflineSettings:
        update: dict[str, object] = {
            "kits": base / self.kits,
            "quarantine": base / self.quarantine,
        }
        if self.central_public_key is not None:
            update["central_public_key"] = base / self.central_public_key
        return self.model_copy(update=update)
