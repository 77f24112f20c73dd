"""Guardrails that need no counting: maintenance windows, blast radius, allowed targets,
and whether a run is above its approval threshold.  (Rate limits, quotas and concurrency
are counted by the run store inside one ``BEGIN IMMEDIATE`` transaction.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.devices.inventory import DeviceInventory
from gateway.selfservice.definitions import DAYS, Guardrails, MaintenanceWindow
from gateway.selfservice.model import Refusal, RefusalReason

__all__ = ["above_threshold", "check_static", "in_window"]


def in_window(window: MaintenanceWindow, now: datetime) -> bool:
    """Whether ``now`` (aware; compared in UTC) falls in ``window``."""
    moment = now.astimezone(UTC)
    clock = moment.time()
    today = DAYS[moment.weekday()]
    if window.start < window.end:
        return today in window.days and window.start <= clock < window.end
    yesterday = DAYS[(moment - timedelta(days=1)).weekday()]
    return (today in window.days and clock >= window.start) or (
        yesterday in window.days and clock < window.end
    )


def _targets(
    rails: Guardrails, targets: tuple[str, ...], actor: str, inventory: DeviceInventory
) -> Refusal | None:
    if rails.allowed_targets == "own_account":
        for target in targets:
            if target != actor:
                return Refusal(
                    RefusalReason.TARGET_NOT_ALLOWED,
                    f"{target} is not your account; this item acts on your own account only",
                )
    elif rails.allowed_targets == "own_device":
        for target in targets:
            if inventory.owner_of(target) != actor:
                yours = ", ".join(inventory.devices_of(actor)) or "none"
                return Refusal(
                    RefusalReason.TARGET_NOT_ALLOWED,
                    f"{target} is not one of your devices (yours: {yours}); "
                    "this item acts on your own devices only",
                )
    return None


def check_static(
    rails: Guardrails,
    targets: tuple[str, ...],
    actor: str,
    now: datetime,
    inventory: DeviceInventory,
) -> Refusal | None:
    """The first guardrail the run breaks, or None."""
    for window in rails.maintenance_windows:
        if in_window(window, now):
            until = window.end.strftime("%H:%M")
            return Refusal(
                RefusalReason.MAINTENANCE,
                f"unavailable during {window.reason} ({window.start:%H:%M}-{until} UTC); "
                f"try again after {until} UTC",
            )
    if rails.max_targets is not None and len(targets) > rails.max_targets:
        return Refusal(
            RefusalReason.BLAST_RADIUS,
            f"at most {rails.max_targets} targets in one run, found {len(targets)}",
        )
    return _targets(rails, targets, actor, inventory)


def above_threshold(rails: Guardrails, targets: tuple[str, ...]) -> bool:
    return rails.approval_above is not None and len(targets) > rails.approval_above
