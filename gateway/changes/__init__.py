"""Change management: when changes are frozen, read from a change calendar.

The calendar is an iCalendar file (RFC 5545) of freezes and maintenance windows; the
gateway, never the caller, tells the policies whether a freeze is in force
(``context.change_freeze``).  See ``docs/change-calendar.md``.
"""

from gateway.changes.calendar import ChangeCalendar, ChangePeriod, ChangeState, load_periods

__all__ = ["ChangeCalendar", "ChangePeriod", "ChangeState", "load_periods"]
