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
    ``cooldown_seconds``.

    ``preload_cached_facts``: every policy engine put in force (start, reload) first parses
    the users the cache holds then, and their accounts, so that decisions on unchanged facts
    parse nothing (the embedded directory file alone is always loaded, whole).  Off by
    default: parsing costs about 50 to 200 microseconds and 4 kB per entity on each reload
    (20,000 users: 1 to 4 s of one core, about 80 MB, and the process's decisions wait about
    1 s for Cedar's part of it); no source is asked for it (``docs/identity.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ttl_seconds: float = Field(default=300.0, ge=0)
    max_stale_seconds: float = Field(default=3600.0, ge=0)
    max_entries: int = Field(default=50_000, ge=1)
    failure_threshold: int = Field(default=3, ge=1)
    cooldown_seconds: float = Field(default=30.0, ge=0)
    preload_cached_facts: bool = False
