"""How long the identity resolver trusts merged facts, and when it stops calling a source.

The same fields are the ``[identity]`` table of ``gateway.toml`` (``gateway.config``'s
``IdentityConfig`` adds the sources); this module imports pydantic only.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ResolverSettings"]


class ResolverSettings(BaseModel):
    """Facts are served from the cache for ``ttl_seconds`` (at most ``max_entries`` users);
    when a source is down, cached facts up to ``max_stale_seconds`` old are served marked
    stale.  A source failing ``failure_threshold`` times in a row is not called for
    ``cooldown_seconds``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ttl_seconds: float = Field(default=300.0, ge=0)
    max_stale_seconds: float = Field(default=3600.0, ge=0)
    max_entries: int = Field(default=50_000, ge=1)
    failure_threshold: int = Field(default=3, ge=1)
    cooldown_seconds: float = Field(default=30.0, ge=0)
