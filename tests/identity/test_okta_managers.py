"""The manager of an Okta user, resolved and remembered without a server."""

from __future__ import annotations

from gateway.errors import UnknownActorError
from gateway.identity.okta_managers import OktaManagers
from gateway.identity.okta_settings import OktaProfile, OktaUser


def user(login: str, user_id: str) -> OktaUser:
    return OktaUser.model_validate({"id": user_id, "status": "ACTIVE", "profile": {"login": login}})


PEOPLE = {f"00u{n:04d}": user(f"boss{n}@example.com", f"00u{n:04d}") for n in range(5)}


def read_user(key: str) -> OktaUser:
    if key not in PEOPLE:
        raise UnknownActorError(key)
    return PEOPLE[key]


def test_only_the_most_recent_managers_are_remembered() -> None:
    managers = OktaManagers(
        read_user, lambda _: [], clock=lambda: 0.0, ttl_seconds=60, max_entries=2
    )

    for key in ("00u0000", "00u0001", "00u0002", "00u0000"):
        managers.manager_of(OktaProfile(login="x@example.com", managerId=key))

    assert managers.lookups == 4  # 00u0000 was pushed out by the two after it
    managers.manager_of(OktaProfile(login="x@example.com", managerId="00u0002"))
    assert managers.lookups == 4


def test_a_profile_without_a_manager_asks_nothing() -> None:
    managers = OktaManagers(read_user, lambda _: [], clock=lambda: 0.0, ttl_seconds=60)

    assert managers.manager_of(OktaProfile(login="x@example.com")) == (None, None)
    assert managers.lookups == 0
