"""The site snapshot from an identity source in force (not the static file): least data,
manager stubs, privilege kept, and clear refusals."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from gateway.devices.inventory import Device, InventoryFile
from gateway.errors import UnknownActorError
from gateway.identity.facts import AccountStatus, IdentityFacts, ResourceFacts
from gateway.identity.static import StaticDirectoryFile
from gateway.offline.errors import OfflineError
from gateway.offline.snapshot import PRIVILEGED_MARK, DirectorySource, site_snapshot

INVENTORY = InventoryFile(
    devices={
        "ann-laptop": Device(owner="ann"),
        "bob-pc": Device(owner="bob"),
        "zoe-pc": Device(owner="zoe"),
    }
)


@dataclass
class Source:
    """A source that lists a site's people (as LDAP, Okta and the resolver do)."""

    people: dict[str, IdentityFacts]
    name: str = "fake"
    asked: list[str] = field(default_factory=list)

    def get_user(self, user_id: str) -> IdentityFacts:
        self.asked.append(user_id)
        if user_id not in self.people:
            raise UnknownActorError(user_id)
        return self.people[user_id]

    def get_resource(self, resource_type: str, resource_id: str) -> ResourceFacts | None:
        return None

    def find_users(
        self, *, email: str | None = None, username: str | None = None
    ) -> list[IdentityFacts]:
        return []

    def users_at(self, location: str) -> list[IdentityFacts]:
        return [facts for facts in self.people.values() if facts.location == location]


@dataclass
class Unlisting:
    """A source that cannot list a location."""

    name: str = "unlisting"

    def get_user(self, user_id: str) -> IdentityFacts:
        raise UnknownActorError(user_id)

    def get_resource(self, resource_type: str, resource_id: str) -> ResourceFacts | None:
        return None

    def find_users(
        self, *, email: str | None = None, username: str | None = None
    ) -> list[IdentityFacts]:
        return []


def person(user_id: str, **facts: object) -> IdentityFacts:
    return IdentityFacts.model_validate({"id": user_id, "username": user_id, **facts})


PEOPLE = {
    "ann": person("ann", location="b7", groups={"staff"}, manager="max", email="ann@x.test"),
    "bob": person("bob", location="b7", groups={"staff", "tier0"}, privileged=True, manager="gone"),
    "eli": person("eli", location="hq", groups={"helpdesk", "staff"}, manager="max"),
    "max": person(
        "max",
        location="hq",
        groups={"staff"},
        status=AccountStatus.LOCKED,
        department="IT",
        email="max@x.test",
        privileged=True,
    ),
    "zoe": person("zoe", location="hq", groups={"staff"}, email="zoe@x.test"),
}


def test_a_site_snapshot_from_a_source_keeps_least_data_and_privilege() -> None:
    source = Source(dict(PEOPLE))

    snapshot = site_snapshot(
        DirectorySource(source, ("domain-admins",), {"software:visio": {"approved": True}}),
        INVENTORY,
        site="b7",
        technician="eli",
    )

    users = snapshot.directory["users"]
    assert set(users) == {"ann", "bob", "eli", "max"}  # zoe stays at the centre
    assert snapshot.people == ("ann", "bob", "eli")
    assert users["max"] == {
        "status": "locked",
        "groups": ["staff", PRIVILEGED_MARK],
        "department": "IT",
        "title": "",
        "employee_type": "employee",
    }  # a stub, privileged as the source said
    assert users["bob"]["groups"] == ["staff", "tier0", PRIVILEGED_MARK]
    assert "manager" not in users["bob"]  # a manager the source does not know is dropped
    assert users["ann"]["manager"] == "max"
    assert snapshot.directory["privileged_groups"] == ["domain-admins", PRIVILEGED_MARK]
    assert set(snapshot.directory["groups"]) == {
        "domain-admins", "helpdesk", "staff", "tier0", PRIVILEGED_MARK,
    }  # fmt: skip
    assert snapshot.directory["resources"] == {"software:visio": {"approved": True}}
    assert set(snapshot.devices) == {"ann-laptop", "bob-pc"}
    assert "zoe" not in source.asked
    StaticDirectoryFile.model_validate(snapshot.directory)  # what the laptop loads


def test_a_privileged_person_in_a_privileged_group_needs_no_mark() -> None:
    bob = PEOPLE["bob"].model_copy(update={"groups": frozenset({"domain-admins"})})
    source = Source({"bob": bob, "eli": PEOPLE["eli"]})

    snapshot = site_snapshot(
        DirectorySource(source, ("domain-admins",)), InventoryFile(), site="b7", technician="eli"
    )

    assert snapshot.directory["users"]["bob"]["groups"] == ["domain-admins"]
    assert snapshot.directory["privileged_groups"] == ["domain-admins"]
    assert snapshot.directory["resources"] == {}


def test_an_unknown_technician_is_refused_by_a_source() -> None:
    with pytest.raises(OfflineError, match="unknown technician 'nobody': not in the directory"):
        site_snapshot(
            DirectorySource(Source(dict(PEOPLE))), INVENTORY, site="b7", technician="nobody"
        )


def test_a_source_that_cannot_list_a_site_is_refused() -> None:
    with pytest.raises(OfflineError, match="'unlisting' cannot list a site's people"):
        site_snapshot(DirectorySource(Unlisting()), INVENTORY, site="b7", technician="eli")


def test_the_static_file_alone_is_used_as_it_is(tmp_path: Path) -> None:
    from gateway.app.offline import kit_directory
    from gateway.identity.static import StaticDirectory

    config = GatewayConfig()
    found = kit_directory(config, StaticDirectory.load(config.identity.static_file))

    assert isinstance(found, StaticDirectoryFile)


def test_beside_another_source_the_static_file_gives_only_its_resources() -> None:
    from gateway.app.offline import kit_directory

    config = GatewayConfig.model_validate(
        {
            "identity": {
                "sources": ["ldap", "okta", "static"],
                "privileged_groups": ["domain-admins"],
                "ldap": {
                    "urls": ["ldaps://dc.example.test"],
                    "bind_dn": "cn=svc",
                    "bind_password": "pw",
                    "base_dn": "dc=example,dc=test",
                    "privileged_groups": ["tier0"],
                },
                "okta": {
                    "base_url": "https://example.okta.com",
                    "token": "t0ken",
                    "privileged_groups": ["Okta Admins", "domain-admins"],
                },
            }
        }
    )
    source = Source({})

    found = kit_directory(config, source)

    assert isinstance(found, DirectorySource)
    assert found.people is source
    assert found.privileged_groups == ("domain-admins", "tier0", "Okta Admins")
    assert found.resources is not None
    assert "software:visio" in found.resources
