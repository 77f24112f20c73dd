"""The embedded defaults: the files the gateway uses when the configuration names none."""

from pathlib import Path

__all__ = [
    "EMBEDDED_CHANGE_CALENDAR",
    "EMBEDDED_CHANGE_REGISTER",
    "EMBEDDED_DIRECTORY",
    "EMBEDDED_STATUS",
]

EMBEDDED_DIRECTORY = Path(__file__).parent / "directory.yaml"
EMBEDDED_CHANGE_CALENDAR = Path(__file__).parent / "change-calendar.ics"
EMBEDDED_CHANGE_REGISTER = Path(__file__).parent / "changes.yaml"
EMBEDDED_STATUS = Path(__file__).parent / "status.yaml"
