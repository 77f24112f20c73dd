"""The least data a site needs: its people, the technician, their devices.

People are the directory users whose ``location`` is the site, plus the technician.  Their
managers come along as stubs (status, groups, department, title: what decisions about an
account read) so manager references still resolve; nobody else's facts leave the centre.
Groups reachable from the people, the privileged groups and the resource facts (software
titles, not personal) are kept whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.devices.inventory import InventoryFile
from gateway.identity.static import StaticDirectoryFile, StaticUser
from gateway.offline.errors import OfflineError

__all__ = ["SiteSnapshot", "site_snapshot"]

_STUB_FIELDS = ("status", "groups", "department", "title", "employee_type")


@dataclass(frozen=True)
class SiteSnapshot:
    directory: dict[str, Any]  # a static directory file
    devices: dict[str, dict[str, Any]]
    people: tuple[str, ...]  # the site's people and the technician (stubs excluded)


def _reachable_groups(directory: StaticDirectoryFile, users: list[StaticUser]) -> set[str]:
    seen: set[str] = set()
    pending = [group for user in users for group in user.groups]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        group = directory.groups.get(name)
        if group is not None:
            pending.extend(group.member_of)
    return seen


def site_snapshot(
    directory: StaticDirectoryFile, inventory: InventoryFile, *, site: str, technician: str
) -> SiteSnapshot:
    """The site's facts; raises ``OfflineError`` when the technician is unknown."""
    if technician not in directory.users:
        raise OfflineError(f"unknown technician {technician!r}: not in the directory")
    chosen = {
        user_id: user
        for user_id, user in directory.users.items()
        if user.location == site or user_id == technician
    }
    users: dict[str, Any] = {
        user_id: user.model_dump(mode="json", exclude_defaults=True)
        for user_id, user in sorted(chosen.items())
    }
    for user in chosen.values():
        manager = user.manager
        if manager is not None and manager not in users:
            full = directory.users[manager].model_dump(mode="json")
            users[manager] = {name: full[name] for name in _STUB_FIELDS}
    stubs = [directory.users[user_id] for user_id in users]
    groups = _reachable_groups(directory, stubs) | set(directory.privileged_groups)
    snapshot: dict[str, Any] = {
        "privileged_groups": list(directory.privileged_groups),
        "groups": {
            name: group.model_dump(mode="json")
            for name, group in sorted(directory.groups.items())
            if name in groups
        },
        "users": users,
        "resources": dict(directory.resources),
    }
    devices = {
        name: device.model_dump(mode="json", exclude_none=True)
        for name, device in sorted(inventory.devices.items())
        if device.owner in chosen
    }
    return SiteSnapshot(snapshot, devices, tuple(sorted(chosen)))
