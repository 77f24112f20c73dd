"""Change management: when changes are frozen, read from a change calendar.

The calendar is an iCalendar file (RFC 5545) of freezes and maintenance windows, merged
with ServiceNow's blackout and maintenance schedules when configured; the gateway, never
the caller, tells the policies whether a freeze is in force (``context.change_freeze``)
and whether a maintenance window is open (``context.change_window``).  See
``docs/change-calendar.md``.  Names load on first use, so that reading the configuration
(``gateway.changes.servicenow_settings``) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["ChangeCalendar", "ChangePeriod", "ChangeState", "load_periods"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("gateway.changes.calendar"), name)
    raise AttributeError(f"module 'gateway.changes' has no attribute {name!r}")
