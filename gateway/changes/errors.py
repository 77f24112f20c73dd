"""Errors of the change calendar's sources."""

from __future__ import annotations

from gateway.errors import GatewayError

__all__ = ["ChangeSourceError"]


class ChangeSourceError(GatewayError):
    """A change calendar source (ServiceNow schedules, a change register) cannot be read,
    or what it answered is not a calendar; the message names the source."""
