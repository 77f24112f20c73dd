"""LdapDirectory over Active Directory-shaped entries, on ldap3's MOCK_SYNC strategy.

The mock does not implement the in-chain matching rule, so these tests also exercise
the fall-back to nesting groups level by level.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from ldap3 import (  # type: ignore[import-untyped]
    BASE,
    MOCK_SYNC,
    MODIFY_REPLACE,
    NONE,
    Connection,
    Server,
)
from pydantic import SecretStr

from gateway.errors import ConfigError, DirectoryActionError, IdentityError, UnknownActorError
from gateway.identity import AccountStatus, IdentityFacts
from gateway.identity.directory import ActionResult
from gateway.identity.ldap import LdapDirectory
from gateway.identity.ldap_settings import LdapSettings

BASE_DN = "DC=corp,DC=example,DC=test"
USERS = f"OU=Users,{BASE_DN}"
GROUPS = f"OU=Groups,{BASE_DN}"
BIND_DN = f"CN=svc-gateway,OU=Service,{BASE_DN}"
BIND_PASSWORD = "svc-Secret-1"
NORMAL, DISABLED, LOCKOUT, EXPIRED = 0x200, 0x2, 0x10, 0x800000


def user(name: str, **attributes: Any) -> tuple[str, dict[str, Any]]:
    return f"CN={name.title()},{USERS}", {
        "objectClass": ["top", "person", "organizationalPerson", "user"],
        "cn": name.title(),
        "sAMAccountName": name,
        "userAccountControl": str(NORMAL),
        **attributes,
    }


def group(name: str, *members: str) -> tuple[str, dict[str, Any]]:
    return f"CN={name},{GROUPS}", {
        "objectClass": ["top", "group"],
        "cn": name,
        "member": list(members),
    }


ANNA, BORIS, CARL = (f"CN={name},{USERS}" for name in ("Anna", "Boris", "Carl"))
ENTRIES = [
    (BIND_DN, {"objectClass": ["top", "user"], "cn": "svc-gateway", "userPassword": BIND_PASSWORD}),
    user(
        "anna",
        mail="anna@corp.example.test",
        displayName="Anna Berg",
        department="Finance",
        title="Accountant",
        manager=BORIS,
        l="Oslo",
        employeeType="employee",
        lockoutTime="0",
        pwdLastSet="133485408000000000",
        whenChanged="20240102030405.0Z",
    ),
    user("boris", mail="boris@corp.example.test", lockoutTime="133485408000000000"),
    user("carl", userAccountControl=str(NORMAL | DISABLED), manager="not a dn"),
    user("erin", userAccountControl=str(NORMAL | EXPIRED)),
    user("frank", userAccountControl=str(NORMAL | LOCKOUT)),
    user("gus", userAccountControl="abc"),
    user("hank", pwdLastSet="9" * 25, whenChanged="20241399000000Z"),
    group("Finance-Users", ANNA, f"CN=All-Staff,{GROUPS}"),
    group("All-Staff", f"CN=Finance-Users,{GROUPS}", BORIS),
    group("Domain Admins", f"CN=Tier0,{GROUPS}"),
    group("Tier0", CARL),
    group("Printers", BIND_DN),
]


def mock_server(*, ssl: bool = True) -> Server:
    server = Server("dc1.corp.example.test", use_ssl=ssl, get_info=NONE)
    seed = Connection(server, BIND_DN, BIND_PASSWORD, client_strategy=MOCK_SYNC)
    for dn, attributes in ENTRIES:
        seed.strategy.add_entry(dn, attributes)
    return server


def settings(**overrides: Any) -> LdapSettings:
    data = {
        "name": "corp-ad",
        "urls": ["ldaps://dc1.corp.example.test", "ldaps://dc2.corp.example.test"],
        "flavor": "active_directory",
        "bind_dn": BIND_DN,
        "bind_password": BIND_PASSWORD,
        "base_dn": BASE_DN,
        "user_base": USERS,
        "group_base": GROUPS,
        "privileged_groups": ["Domain Admins"],
        "page_size": 2,
    }
    return LdapSettings.load(data | overrides)


@pytest.fixture
def server() -> Server:
    return mock_server()


@pytest.fixture
def directory(server: Server) -> Iterator[LdapDirectory]:
    with LdapDirectory(settings(), server=server, client_strategy=MOCK_SYNC) as connector:
        yield connector


def read(server: Server, dn: str, attribute: str) -> list[Any]:
    connection = Connection(server, BIND_DN, BIND_PASSWORD, client_strategy=MOCK_SYNC)
    connection.bind()
    connection.search(dn, "(objectClass=*)", BASE, attributes=[attribute])
    values: list[Any] = connection.response[0]["raw_attributes"].get(attribute, [])
    connection.unbind()
    return values


def test_an_ad_user_has_every_fact(directory: LdapDirectory) -> None:
    anna = directory.get_user("anna")

    assert anna == IdentityFacts(
        id="anna",
        username="anna",
        display_name="Anna Berg",
        email="anna@corp.example.test",
        status=AccountStatus.ACTIVE,
        groups=frozenset({"Finance-Users", "All-Staff"}),
        department="Finance",
        title="Accountant",
        manager="boris",
        location="Oslo",
        employee_type="employee",
        privileged=False,
        source="corp-ad",
        read_at=anna.read_at,
        changed_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        password_changed_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert directory.get_user("ANNA").groups == anna.groups  # after the fall-back too


def test_groups_are_right_although_the_mock_ignores_the_in_chain_rule(
    directory: LdapDirectory,
) -> None:
    assert directory.get_user("erin").groups == frozenset()  # agrees: nothing to nest
    assert directory.get_user("anna").groups == frozenset({"Finance-Users", "All-Staff"})
    assert directory.get_user("boris").groups == frozenset({"All-Staff", "Finance-Users"})


def test_nesting_into_a_privileged_group_makes_a_user_privileged(
    directory: LdapDirectory,
) -> None:
    carl = directory.get_user("carl")

    assert carl.groups == frozenset({"Tier0", "Domain Admins"})
    assert carl.privileged
    assert carl.manager is None  # "not a dn" is no manager


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("anna", AccountStatus.ACTIVE),
        ("boris", AccountStatus.LOCKED),
        ("carl", AccountStatus.DISABLED),
        ("erin", AccountStatus.PASSWORD_EXPIRED),
        ("frank", AccountStatus.LOCKED),
    ],
    ids=[
        "a normal account is active",
        "a lockout time makes an account locked",
        "the ACCOUNTDISABLE flag makes an account disabled",
        "the PASSWORD_EXPIRED flag makes an account's password expired",
        "the LOCKOUT flag makes an account locked",
    ],
)
def test_account_status_comes_from_user_account_control(
    directory: LdapDirectory, name: str, status: AccountStatus
) -> None:
    assert directory.get_user(name).status == status


def test_a_malformed_user_account_control_is_a_clear_error(directory: LdapDirectory) -> None:
    with pytest.raises(IdentityError) as caught:
        directory.get_user("gus")

    assert str(caught.value) == (
        f"directory entry 'CN=Gus,{USERS}': userAccountControl: expected an integer, found 'abc'"
    )


def test_impossible_times_are_unknown_rather_than_an_error(directory: LdapDirectory) -> None:
    hank = directory.get_user("hank")

    assert (hank.changed_at, hank.password_changed_at) == (None, None)


def test_find_users_by_email(directory: LdapDirectory) -> None:
    assert [u.id for u in directory.find_users(email="BORIS@corp.example.test")] == ["boris"]
    with pytest.raises(UnknownActorError):
        directory.get_user("*)(sAMAccountName=*")


def remove(server: Server, dn: str) -> None:
    connection = Connection(server, BIND_DN, BIND_PASSWORD, client_strategy=MOCK_SYNC)
    connection.bind()
    connection.strategy.remove_entry(dn)
    connection.unbind()


def test_a_paged_iteration_yields_every_user(directory: LdapDirectory, server: Server) -> None:
    with pytest.raises(IdentityError):
        list(directory.iter_users())  # gus's flags are malformed
    remove(server, f"CN=Gus,{USERS}")

    users = {facts.id: facts for facts in directory.iter_users()}

    assert sorted(users) == ["anna", "boris", "carl", "erin", "frank", "hank"]
    assert users["anna"].manager == "boris"
    assert users["anna"].groups == frozenset({"Finance-Users", "All-Staff"})
    assert users["carl"].privileged


def test_a_reset_sends_a_quoted_utf16_password_and_forces_a_change(
    directory: LdapDirectory, server: Server
) -> None:
    result = directory.reset_password("anna", SecretStr("Nouveau-mot-de-passe-1"))

    assert result == ActionResult(True, "password reset; must change at next logon")
    assert read(server, ANNA, "unicodePwd") == ['"Nouveau-mot-de-passe-1"'.encode("utf-16-le")]
    assert read(server, ANNA, "pwdLastSet") == [b"0"]
    assert directory.get_user("anna").password_changed_at is None

    directory.reset_password("anna", SecretStr("Second-pw-2"), must_change=False)
    assert read(server, ANNA, "pwdLastSet") == [b"-1"]


def test_a_reset_over_a_plain_connection_is_refused_without_the_password() -> None:
    plain = mock_server(ssl=False)
    directory = LdapDirectory(settings(), server=plain, client_strategy=MOCK_SYNC)
    with directory, pytest.raises(DirectoryActionError) as caught:
        directory.reset_password("anna", SecretStr("Never-shown-9"))

    assert str(caught.value) == (
        "reset_password 'anna': Active Directory accepts a new password only over an "
        "encrypted connection (ldaps:// or start_tls)"
    )
    assert "Never-shown-9" not in repr(caught.value)
    assert read(plain, ANNA, "unicodePwd") == []


def test_unlock_clears_the_lockout_time_once(directory: LdapDirectory, server: Server) -> None:
    assert directory.unlock_account("boris") == ActionResult(True, "account unlocked")
    assert directory.unlock_account("boris") == ActionResult(False, "account was not locked")
    assert read(server, BORIS, "lockoutTime") == [b"0"]
    assert directory.get_user("boris").status == AccountStatus.ACTIVE


def test_enable_and_disable_flip_only_the_disable_flag(
    directory: LdapDirectory, server: Server
) -> None:
    assert directory.set_enabled("carl", True) == ActionResult(True, "account enabled")
    assert directory.set_enabled("carl", True) == ActionResult(False, "account was already enabled")
    assert read(server, CARL, "userAccountControl") == [str(NORMAL).encode()]
    assert directory.set_enabled("erin", False) == ActionResult(True, "account disabled")
    assert directory.get_user("erin").status == AccountStatus.DISABLED
    assert read(server, f"CN=Erin,{USERS}", "userAccountControl") == [
        str(NORMAL | EXPIRED | DISABLED).encode()
    ]


def test_group_membership_changes_are_idempotent(directory: LdapDirectory) -> None:
    assert directory.add_to_group("anna", "Printers") == ActionResult(True, "added to Printers")
    assert directory.add_to_group("anna", "Printers") == ActionResult(
        False, "already a member of Printers"
    )
    assert "Printers" in directory.get_user("anna").groups
    assert directory.remove_from_group("anna", "Printers") == ActionResult(
        True, "removed from Printers"
    )
    assert directory.remove_from_group("anna", "Printers") == ActionResult(
        False, "not a member of Printers"
    )


def test_the_flavor_brings_its_attribute_names() -> None:
    ad = settings(attributes={"title": "jobTitle"})

    assert (ad.attributes.username, ad.attributes.title) == ("sAMAccountName", "jobTitle")
    assert ad.attributes.changed_at == "whenChanged"
    assert ad.encrypted
    assert not settings(urls=["ldap://dc1.corp.example.test"]).encrypted
    assert settings(urls=["ldap://dc1"], start_tls=True).encrypted
    assert BIND_PASSWORD not in repr(ad) + repr(LdapDirectory(ad))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"urls": ["http://dc1"]},
            "ldap: invalid LDAP settings: settings: Value error, urls: expected ldap:// or "
            "ldaps://, found 'http://dc1'",
        ),
        (
            {"urls": []},
            "ldap: invalid LDAP settings: urls: List should have at least 1 item "
            "after validation, not 0",
        ),
        (
            {"page_size": 0},
            "ldap: invalid LDAP settings: page_size: Input should be greater than or equal to 1",
        ),
    ],
    ids=["a URL of another scheme", "no URL at all", "a page size of zero"],
)
def test_invalid_settings_name_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(**overrides)

    assert str(caught.value) == message
    assert BIND_PASSWORD not in str(caught.value)


def test_settings_that_are_not_a_table_are_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        LdapSettings.load("ldap://dc1", where="config.toml [identity.ldap]")  # type: ignore[arg-type]

    assert str(caught.value) == (
        "config.toml [identity.ldap]: invalid LDAP settings: settings: Input should be a "
        "valid dictionary or instance of LdapSettings"
    )


def test_an_unknown_flavor_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        settings(flavor="novell")

    assert str(caught.value) == (
        "ldap: invalid LDAP settings: flavor: Input should be 'openldap' or "
        "'active_directory'; attributes: Field required"
    )


def test_the_user_and_group_bases_default_to_the_base_dn() -> None:
    defaults = LdapSettings.load(
        {"urls": ["ldap://x"], "bind_dn": "cn=a", "bind_password": "p", "base_dn": "dc=x"}
    )

    assert (defaults.user_base, defaults.group_base, defaults.flavor) == (
        "dc=x",
        "dc=x",
        "openldap",
    )
    assert defaults.attributes.username == "uid"


def test_the_people_of_a_site_come_from_one_search_on_the_location_attribute(
    server: Server, directory: LdapDirectory
) -> None:
    connection = Connection(server, BIND_DN, BIND_PASSWORD, client_strategy=MOCK_SYNC)
    connection.bind()
    connection.modify(f"CN=Boris,{USERS}", {"l": [(MODIFY_REPLACE, ["Oslo"])]})
    connection.unbind()

    people = {facts.id: facts for facts in directory.users_at("Oslo")}

    assert set(people) == {"anna", "boris"}
    assert people["anna"].manager == "boris"  # a manager on the site: no second search
    assert people["anna"].groups == frozenset({"Finance-Users", "All-Staff"})
    assert people["boris"].status is AccountStatus.LOCKED
    assert directory.users_at("Bergen") == []


def test_a_site_person_whose_manager_works_elsewhere_still_has_a_manager(
    directory: LdapDirectory,
) -> None:
    [anna] = directory.users_at("Oslo")  # Boris is not in Oslo: found by his DN

    assert anna.manager == "boris"
