"""Who an Okta user is to the gateway: the manager as a person, and the person's type.

The org is made of user objects shaped as Okta's Users API documents them (see
``okta_server``): ``profile.managerId`` holds the manager's Okta ``id``, ``profile.manager``
the manager's ``displayName``, ``profile.userType`` the relationship ("Employee",
"Contractor").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gateway.errors import DirectoryUnavailableError
from gateway.identity.okta import OktaDirectory, OktaSettings
from gateway.runtime.actions import ActionCall
from gateway.runtime.builtin import directory_actions
from tests.integration.okta_server import OktaServer

TOKEN = "00Okta-People-Token-m3Tz8"


@dataclass
class Org:
    server: OktaServer
    ids: dict[str, str]  # short name -> Okta id

    def reads_of(self, short_name: str) -> int:
        path = f"/api/v1/users/{self.ids[short_name]}"
        return sum(1 for r in self.server.requests if r.method == "GET" and r.path == path)


class Clock:
    def __init__(self) -> None:
        self.now = 1_717_243_200.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def org() -> Iterator[Org]:
    server = OktaServer(TOKEN)
    ids: dict[str, str] = {}
    ids["priya"] = server.add_user(
        "priya.shah@example.com", displayName="Priya Shah", userType="Employee"
    )
    ids["tom"] = server.add_user(
        "tom.becker@example.com", managerId=ids["priya"], userType="Contractor"
    )
    ids["sam"] = server.add_user("sam.lee@example.com", managerId=ids["priya"])
    ids["noor"] = server.add_user("noor@example.com", manager="Priya Shah")
    ids["ali"] = server.add_user("ali@example.com", manager="tom.becker@example.com")
    ids["kai"] = server.add_user("kai@example.com", managerId="tom.becker")
    ids["jo"] = server.add_user("jo@example.com", displayName="Jo Park")
    server.add_user("jo.park@example.com", displayName="Jo Park")
    ids["max"] = server.add_user("max@example.com", manager="Jo Park")
    ids["eve"] = server.add_user(
        "eve@example.com", employeeType="Contractor", manager="Nobody Here"
    )
    server.start()
    yield Org(server, ids)
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def okta(org: Org, clock: Clock) -> Iterator[OktaDirectory]:
    settings = OktaSettings(base_url=org.server.base_url, token=TOKEN, max_retries=0)
    with OktaDirectory(settings, clock=clock, sleep=lambda _: None) as directory:
        yield directory


@pytest.mark.parametrize(
    ("user", "manager"),
    [
        ("tom", "priya.shah@example.com"),
        ("noor", "priya.shah@example.com"),
        ("ali", "tom.becker@example.com"),
        ("kai", "tom.becker@example.com"),
    ],
    ids=[
        "a managerId (the manager's Okta id) names the manager by login",
        "a manager display name that one user has names that user",
        "a manager given as a login names that user",
        "a managerId holding a login's short name names that user",
    ],
)
def test_the_manager_is_the_person_named_by_login(
    org: Org, okta: OktaDirectory, user: str, manager: str
) -> None:
    facts = okta.get_user(org.ids[user])

    assert facts.manager == manager
    assert facts.notes == {}


def test_a_manager_id_is_never_shown_raw(org: Org, okta: OktaDirectory) -> None:
    facts = okta.get_user(org.ids["tom"])

    assert facts.manager != org.ids["priya"]
    assert org.ids["priya"] not in facts.model_dump_json()


@pytest.mark.parametrize(
    ("user", "why"),
    [
        ("max", "no manager on record: 2 Okta users are named 'Jo Park' (manager): "
         "jo.park@example.com, jo@example.com"),
        ("eve", "no manager on record: no Okta user is named 'Nobody Here' (manager)"),
    ],
    ids=[
        "a display name two users share is not guessed",
        "a display name no user has is no manager",
    ],
)  # fmt: skip
def test_a_manager_that_cannot_be_told_apart_is_no_manager_with_the_reason(
    org: Org, okta: OktaDirectory, user: str, why: str
) -> None:
    facts = okta.get_user(org.ids[user])

    assert facts.manager is None
    assert facts.notes == {"manager": why}


def test_a_manager_is_looked_up_once_while_it_is_remembered(
    org: Org, okta: OktaDirectory, clock: Clock
) -> None:
    okta.get_user(org.ids["tom"])
    okta.get_user(org.ids["sam"])
    okta.get_user(org.ids["tom"])
    assert org.reads_of("priya") == 1

    clock.now += 301  # past manager_ttl_seconds (300 by default)
    assert okta.get_user(org.ids["sam"]).manager == "priya.shah@example.com"
    assert org.reads_of("priya") == 2


def test_a_manager_okta_cannot_be_asked_about_is_not_remembered(
    org: Org, okta: OktaDirectory
) -> None:
    org.server.fail(1, 503, on=f"/api/v1/users/{org.ids['priya']}")

    with pytest.raises(DirectoryUnavailableError):
        okta.get_user(org.ids["tom"])
    assert okta.get_user(org.ids["tom"]).manager == "priya.shah@example.com"


@pytest.mark.parametrize(
    ("user", "kind"),
    [("priya", "Employee"), ("tom", "Contractor"), ("eve", "employee"), ("sam", "employee")],
    ids=[
        "userType Employee is the type",
        "userType Contractor is the type",
        "employeeType (not an Okta default property) is not read",
        "no userType is the default type",
    ],
)
def test_the_persons_type_comes_from_user_type(
    org: Org, okta: OktaDirectory, user: str, kind: str
) -> None:
    assert okta.get_user(org.ids[user]).employee_type == kind


def test_a_lookup_shows_the_manager_as_a_person_or_why_there_is_none(
    org: Org, okta: OktaDirectory
) -> None:
    lookup = next(a for a in directory_actions(okta, okta) if a.name == "directory.lookup")

    def look(user: str) -> dict[str, object]:
        plain, secrets = lookup.parameter_set.validate({"user": org.ids[user]})
        return dict(lookup.run(ActionCall("e-1", "lookup", "elena", plain, secrets)).values)

    assert look("tom")["manager"] == "priya.shah@example.com"
    assert "notes" not in look("tom")
    assert (look("eve")["manager"], look("eve")["notes"]) == (
        None,
        {"manager": "no manager on record: no Okta user is named 'Nobody Here' (manager)"},
    )
