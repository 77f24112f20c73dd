"""The change calendar from configuration: the file, merged with ServiceNow's schedules
when ``[changes.servicenow]`` is set."""

from __future__ import annotations

from pathlib import Path

from gateway.changes.calendar import CalendarSource, ChangeCalendar
from gateway.changes.requests import (
    ChangeRegister,
    ChangeRequestSource,
    ServiceNowChangeRequests,
)
from gateway.changes.servicenow import ServiceNowSchedules, ServiceNowTables
from gateway.changes.servicenow_settings import ServiceNowChangeSettings

__all__ = ["open_change_calendar", "open_change_requests"]


def open_change_calendar(
    calendar: Path, servicenow: ServiceNowChangeSettings | None = None
) -> ChangeCalendar:
    """``[changes]``: ``calendar``, and ``servicenow`` (its secret read from the
    environment) when set."""
    sources: tuple[CalendarSource, ...] = ()
    if servicenow is not None:
        settings = servicenow.with_secrets("changes.servicenow")
        sources = (ServiceNowSchedules(ServiceNowTables(settings)),)
    return ChangeCalendar(calendar, sources=sources)


def open_change_requests(
    register: Path,
    servicenow: ServiceNowChangeSettings | None = None,
    *,
    notes: Path | None = None,
) -> ChangeRequestSource:
    """Where change requests are checked: ServiceNow's ``change_request`` table when
    ``[changes.servicenow]`` is set, else the register file (its notes in ``notes``)."""
    if servicenow is not None:
        settings = servicenow.with_secrets("changes.servicenow")
        return ServiceNowChangeRequests(ServiceNowTables(settings))
    return ChangeRegister(register, notes=notes)
