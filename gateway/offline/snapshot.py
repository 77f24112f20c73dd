"""The least data a site needs: its people, the technician, their devices.

People are the directory users whose ``location`` is the site, plus the technician.  Their
managers come along as stubs (status, groups, department, title: what decisions about an
account read) so manager references still resolve; nobody else's facts leave the centre.
Groups reachable from the people, the privileged groups and the resource facts (software
titles, not personal) are kept whole.

The people come from the directory in force: the static file itself (``site_snapshot``
with a ``StaticDirectoryFile``: its group graph is kept), or any identity source that lists
a location with one query (``SiteDirectory``: LDAP, Active Directory, Okta, a resolver over
several), whose facts already hold every group, nested ones included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue

from gateway.devices.inventory import InventoryFile
from gateway.errors import UnknownActorError
from gateway.identity.directory import DirectoryConnector, SiteDirectory
from gateway.identity.facts import IdentityFacts
from gateway.identity.static import StaticDirectoryFile, StaticUser
from gateway.offline.errors import OfflineError

__all__ = ["PRIVILEGED_MARK", "DirectorySource", "SiteSnapshot", "site_snapshot"]

# A group given, in a kit, to a person a directory calls privileged for a reason the kit's
# group list cannot show (a resolver's authoritative verdict): privileged offline too.
PRIVILEGED_MARK = "gateway-privileged"


@dataclass(frozen=True)
class DirectorySource:
    """The identity source in force, which lists a site's people with one query; the
    privileged groups configured for it and the static resource facts, if any."""

    people: DirectoryConnector
    privileged_groups: tuple[str, ...] = ()
    resources: dict[str, dict[str, JsonValue]] | None = None


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
    directory: StaticDirectoryFile | DirectorySource,
    inventory: InventoryFile,
    *,
    site: str,
    technician: str,
) -> SiteSnapshot:
    """The site's facts; raises ``OfflineError`` when the technician is unknown."""
    if isinstance(directory, DirectorySource):
        return _source_snapshot(directory, inventory, site=site, technician=technician)
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
    return SiteSnapshot(snapshot, _devices(inventory, set(chosen)), tuple(sorted(chosen)))


def _kit_user(facts: IdentityFacts, manager: str | None, privileged: set[str]) -> StaticUser:
    """``facts`` as a static directory user; one the source calls privileged keeps it."""
    groups = sorted(facts.groups)
    if facts.privileged and not privileged.intersection(groups):
        groups.append(PRIVILEGED_MARK)
    return StaticUser(
        display_name=facts.display_name,
        email=facts.email,
        status=facts.status,
        groups=groups,
        department=facts.department,
        title=facts.title,
        manager=manager,
        location=facts.location,
        employee_type=facts.employee_type,
        mfa=list(facts.mfa_factors),
    )


def _devices(inventory: InventoryFile, owners: set[str]) -> dict[str, dict[str, Any]]:
    return {
        name: device.model_dump(mode="json", exclude_none=True)
        for name, device in sorted(inventory.devices.items())
        if device.owner in owners
    }


def _source_snapshot(
    source: DirectorySource, inventory: InventoryFile, *, site: str, technician: str
) -> SiteSnapshot:
    people = source.people
    if not isinstance(people, SiteDirectory):
        raise OfflineError(
            f"the identity source {people.name!r} cannot list a site's people; "
            "field kits need LDAP, Active Directory, Okta or the static file"
        )
    try:
        who = people.get_user(technician)
    except UnknownActorError:
        raise OfflineError(f"unknown technician {technician!r}: not in the directory") from None
    chosen = {facts.id: facts for facts in people.users_at(site)}
    chosen.setdefault(who.id, who)
    managers: dict[str, IdentityFacts | None] = {}
    for facts in chosen.values():
        name = facts.manager
        if name is not None and name not in chosen and name not in managers:
            try:
                managers[name] = people.get_user(name)
            except UnknownActorError:  # a manager the directory no longer knows
                managers[name] = None
    privileged = set(source.privileged_groups)
    known = set(chosen) | {name for name, found in managers.items() if found is not None}
    users: dict[str, Any] = {
        user_id: _kit_user(
            facts, facts.manager if facts.manager in known else None, privileged
        ).model_dump(mode="json", exclude_defaults=True)
        for user_id, facts in sorted(chosen.items())
    }
    for user_id, found in sorted(managers.items()):
        if found is not None:
            full = _kit_user(found, None, privileged).model_dump(mode="json")
            users[user_id] = {name: full[name] for name in _STUB_FIELDS}
    groups = {group for user in users.values() for group in user.get("groups", ())}
    marked = [PRIVILEGED_MARK] if PRIVILEGED_MARK in groups else []
    snapshot: dict[str, Any] = {
        "privileged_groups": sorted(privileged) + marked,
        "groups": {name: {"member_of": []} for name in sorted(groups | privileged)},
        "users": users,
        "resources": dict(source.resources or {}),
    }
    return SiteSnapshot(snapshot, _devices(inventory, set(chosen)), tuple(sorted(chosen)))
