"""LdapDirectory against a real OpenLDAP server (slapd) holding 10,000 users."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from ldap3 import BASE, SYNC, Connection  # type: ignore[import-untyped]
from pydantic import SecretStr

from gateway.errors import (
    ConfigError,
    DirectoryActionError,
    DirectoryUnavailableError,
    IdentityError,
    UnknownActorError,
)
from gateway.identity import AccountStatus, IdentityFacts, ResourceFacts
from gateway.identity.directory import ActionResult, DirectoryActions, DirectoryConnector
from gateway.identity.ldap import LdapDirectory
from gateway.identity.ldap_connection import LdapConnection
from tests.integration.conftest import ldap_settings
from tests.integration.slapd import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    GENERATED_USERS,
    PEOPLE,
    Slapd,
    free_port,
    generated_uid,
    user_dn,
)

Connect = Callable[..., LdapDirectory]
NAMED_USERS = 10  # elena, omar, dora, ringo, deep, twin twice, bob, walter, o(brien*)


def admin_read(server: Slapd, dn: str, *attributes: str) -> dict[str, list[str]]:
    """An entry read straight from the server, independently of the code under test."""
    connection = Connection(server.url, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)
    try:
        connection.search(dn, "(objectClass=*)", BASE, attributes=list(attributes))
        raw = connection.response[0]["raw_attributes"]
    finally:
        connection.unbind()
    return {name: [value.decode() for value in values] for name, values in raw.items()}


def binds(server: Slapd, dn: str, password: str) -> bool:
    connection = Connection(server.url, dn, password)
    try:
        return bool(connection.bind())
    finally:
        connection.unbind()


def test_the_directory_is_a_connector_with_actions(directory: LdapDirectory) -> None:
    connector: DirectoryConnector = directory

    assert connector.name == "ldap"
    assert isinstance(directory, DirectoryActions)


def test_a_user_has_every_fact_with_transitive_groups_and_manager(
    directory: LdapDirectory, slapd: Slapd
) -> None:
    before = datetime.now(UTC)
    elena = directory.get_user("elena")

    stamp = admin_read(slapd, user_dn("elena"), "modifyTimestamp")["modifyTimestamp"][0]
    assert elena == IdentityFacts(
        id="elena",
        username="elena",
        display_name="Elena Ruiz",
        email="Elena@Example.test",
        status=AccountStatus.ACTIVE,
        groups=frozenset({"helpdesk", "it", "staff"}),
        department="IT",
        title="Support Specialist",
        manager="omar",
        location="Lisbon",
        employee_type="employee",
        privileged=False,
        source="ldap",
        read_at=elena.read_at,
        changed_at=datetime.strptime(stamp, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC),
    )
    assert elena.read_at is not None
    assert before <= elena.read_at <= datetime.now(UTC)


def test_a_member_of_a_group_nested_in_a_privileged_group_is_privileged(
    directory: LdapDirectory,
) -> None:
    omar = directory.get_user("omar")

    assert omar.groups == frozenset({"tier0", "domain-admins", "it", "staff"})
    assert omar.privileged
    assert omar.department == "Security"  # from ou, as there is no departmentNumber
    assert omar.employee_type == "contractor"


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("omar", AccountStatus.LOCKED),
        ("dora", AccountStatus.DISABLED),
        ("elena", AccountStatus.ACTIVE),
    ],
    ids=[
        "a user with pwdAccountLockedTime is locked",
        "a user with the disabled marker is disabled",
        "a user with neither is active",
    ],
)
def test_account_status_comes_from_the_entry(
    directory: LdapDirectory, user: str, status: AccountStatus
) -> None:
    assert directory.get_user(user).status == status


def test_a_group_cycle_ends_and_an_unknown_manager_is_none(directory: LdapDirectory) -> None:
    ringo = directory.get_user("ringo")

    assert ringo.groups == frozenset({"ring-a", "ring-b"})
    assert ringo.manager is None


def test_a_user_with_only_the_required_attributes_gets_defaults(
    directory: LdapDirectory,
) -> None:
    deep = directory.get_user("deep")

    assert (deep.email, deep.title, deep.department, deep.location) == (None, "", "", "")
    assert deep.employee_type == "employee"
    assert deep.password_changed_at is None
    assert deep.groups == frozenset(f"chain-{level}" for level in range(12))


def test_nesting_deeper_than_the_limit_is_a_clear_error(slapd: Slapd, connect: Connect) -> None:
    shallow = connect(max_group_depth=5)

    with pytest.raises(IdentityError) as caught:
        shallow.get_user("deep")

    assert str(caught.value) == (
        "groups of 'uid=deep,ou=people,dc=example,dc=test': nested deeper than 5 levels "
        "(max_group_depth)"
    )


def test_more_groups_than_the_limit_is_a_clear_error(slapd: Slapd, connect: Connect) -> None:
    small = connect(max_groups=2)

    with pytest.raises(IdentityError) as caught:
        small.get_user("elena")

    assert str(caught.value) == (
        "groups of 'uid=elena,ou=people,dc=example,dc=test': more than 2 groups "
        "(max_groups); refusing to guess a partial membership"
    )


def test_two_entries_with_one_username_are_refused(directory: LdapDirectory) -> None:
    with pytest.raises(IdentityError) as caught:
        directory.get_user("twin")

    assert str(caught.value) == (
        "ambiguous user 'twin': 2 directory entries match: "
        "uid=twin,ou=contractors,ou=people,dc=example,dc=test; "
        "uid=twin,ou=people,dc=example,dc=test"
    )


def test_an_unknown_user_is_an_unknown_actor(directory: LdapDirectory) -> None:
    with pytest.raises(UnknownActorError) as caught:
        directory.get_user("nobody")

    assert str(caught.value) == "unknown user 'nobody': not found in the directory"


HOSTILE = ["*", "*)(uid=*", "admin)(|(uid=*", "elena\x00", "elena)(objectClass=*", "el*", "\\2a"]


@pytest.mark.parametrize(
    "username",
    HOSTILE,
    ids=[
        "a lone wildcard matches nobody",
        "closing the filter to add a clause matches nobody",
        "an injected or-clause matches nobody",
        "a NUL byte after a real name matches nobody",
        "a real name followed by an always-true clause matches nobody",
        "a prefix wildcard matches nobody",
        "an escaped wildcard stays literal",
    ],
)
def test_filter_injection_in_a_username_finds_nobody(
    directory: LdapDirectory, username: str
) -> None:
    with pytest.raises(UnknownActorError) as caught:
        directory.get_user(username)

    assert str(caught.value) == f"unknown user {username!r}: not found in the directory"
    assert directory.find_users(username=username, email=username) == []
    assert directory.get_resource("account", username) is None


def test_a_username_with_filter_characters_is_found_literally(
    directory: LdapDirectory,
) -> None:
    assert directory.get_user("o(brien*)").email == "obrien@example.test"
    assert directory.add_to_group("o(brien*)", "printers") == ActionResult(
        True, "added to printers"
    )
    assert directory.add_to_group("o(brien*)", "printers") == ActionResult(
        False, "already a member of printers"
    )
    assert directory.get_user("o(brien*)").groups == frozenset({"printers"})


def test_find_users_matches_email_or_username_ignoring_case(directory: LdapDirectory) -> None:
    assert [u.id for u in directory.find_users(email="elena@example.TEST")] == ["elena"]
    assert [u.id for u in directory.find_users(username="ELENA")] == ["elena"]
    assert sorted(u.id for u in directory.find_users(email="twin@example.test")) == [
        "twin",
        "twin",
    ]
    assert directory.find_users() == []


def test_an_account_resource_comes_from_its_user(directory: LdapDirectory) -> None:
    assert directory.get_resource("account", "omar") == ResourceFacts(
        type="account",
        id="omar",
        attributes={
            "owner": {"type": "User", "id": "omar"},
            "privileged": True,
            "status": "locked",
            "department": "Security",
        },
    )
    assert directory.get_resource("account", "nobody") is None
    assert directory.get_resource("host", "ws-042") is None


def test_a_paged_iteration_yields_every_user_with_groups_and_managers(
    directory: LdapDirectory,
) -> None:
    users = {facts.id: facts for facts in directory.iter_users() if facts.id != "twin"}

    assert len(users) == GENERATED_USERS + NAMED_USERS - 2
    sample = users[generated_uid(4151)]
    assert sample.groups == frozenset({"team-1", "dept-1", "staff"})
    assert sample.manager == generated_uid(4100)
    assert (sample.department, sample.location, sample.source) == ("D1", "Porto", "ldap")
    assert users["omar"].privileged
    assert users["elena"] == directory.get_user("elena").model_copy(
        update={"read_at": users["elena"].read_at}
    )


def test_a_paged_search_under_a_missing_base_is_a_clear_error(connect: Connect) -> None:
    nowhere = connect(user_base="ou=nowhere,dc=example,dc=test")

    with pytest.raises(IdentityError) as caught:
        list(nowhere.iter_users())

    assert str(caught.value) == (
        "LDAP paged search under 'ou=nowhere,dc=example,dc=test' refused: noSuchObject"
    )


def test_connections_beyond_the_pool_size_are_closed_after_use(slapd: Slapd) -> None:
    ldap = LdapConnection(ldap_settings(slapd, pool_size=1), None, SYNC)
    try:
        pages = ldap.paged(PEOPLE, "(uid=user0000*)", ["uid"])
        first_entry = next(pages)  # holds a connection
        assert ldap.search(user_dn("elena"), "(uid=elena)", ["uid"], BASE) == [
            (user_dn("elena"), {"uid": ["elena"]})
        ]
        assert len([first_entry, *pages]) == 10
    finally:
        ldap.close()


def test_a_reset_password_works_for_a_bind_and_sets_must_change(
    directory: LdapDirectory, slapd: Slapd
) -> None:
    new = SecretStr("bob-New-pw2")

    assert directory.reset_password("bob", new) == ActionResult(
        True, "password reset; must change at next logon"
    )
    assert binds(slapd, user_dn("bob"), "bob-New-pw2")
    assert not binds(slapd, user_dn("bob"), "bob-Old-pw1")
    assert admin_read(slapd, user_dn("bob"), "pwdReset") == {"pwdReset": ["TRUE"]}
    assert directory.get_user("bob").password_changed_at is not None

    assert directory.reset_password("bob", SecretStr("bob-Third-pw3"), must_change=False) == (
        ActionResult(True, "password reset")
    )
    assert admin_read(slapd, user_dn("bob"), "pwdReset") == {"pwdReset": []}
    assert binds(slapd, user_dn("bob"), "bob-Third-pw3")
    directory.reset_password("bob", SecretStr("bob-Fourth-pw4"), must_change=False)
    assert admin_read(slapd, user_dn("bob"), "pwdReset") == {"pwdReset": []}
    assert binds(slapd, user_dn("bob"), "bob-Fourth-pw4")


def test_a_refused_reset_names_the_reason_but_never_a_password(
    slapd: Slapd, connect: Connect
) -> None:
    as_elena = connect(bind_dn=user_dn("elena"), bind_password="elena-Old-pw1")

    with pytest.raises(DirectoryActionError) as caught:
        as_elena.reset_password("bob", SecretStr("never-Shown-pw9"))

    assert str(caught.value) == (
        "reset_password 'bob': the directory refused: insufficientAccessRights"
    )
    assert "never-Shown-pw9" not in repr(caught.value)
    assert "elena-Old-pw1" not in repr(as_elena) + repr(as_elena.settings)


def test_unlock_is_idempotent(directory: LdapDirectory) -> None:
    assert directory.get_user("walter").status == AccountStatus.LOCKED

    assert directory.unlock_account("walter") == ActionResult(True, "account unlocked")
    assert directory.unlock_account("walter") == ActionResult(False, "account was not locked")
    assert directory.get_user("walter").status == AccountStatus.ACTIVE


def test_disable_and_enable_are_idempotent(directory: LdapDirectory) -> None:
    uid = generated_uid(GENERATED_USERS - 1)

    assert directory.set_enabled(uid, False) == ActionResult(True, "account disabled")
    assert directory.set_enabled(uid, False) == ActionResult(False, "account was already disabled")
    assert directory.get_user(uid).status == AccountStatus.DISABLED
    assert directory.set_enabled(uid, True) == ActionResult(True, "account enabled")
    assert directory.set_enabled(uid, True) == ActionResult(False, "account was already enabled")
    assert directory.get_user(uid).status == AccountStatus.ACTIVE


def test_group_membership_changes_are_idempotent(directory: LdapDirectory) -> None:
    assert directory.add_to_group("bob", "it") == ActionResult(True, "added to it")
    assert directory.add_to_group("bob", "it") == ActionResult(False, "already a member of it")
    assert directory.get_user("bob").groups == frozenset({"it", "staff", "vpn-users"})
    assert directory.remove_from_group("bob", "it") == ActionResult(True, "removed from it")
    assert directory.remove_from_group("bob", "it") == ActionResult(False, "not a member of it")
    assert directory.get_user("bob").groups == frozenset({"vpn-users"})


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            lambda d: d.remove_from_group("elena", "helpdesk"),
            "remove_from_group 'elena': the directory refused: objectClassViolation",
        ),
        (lambda d: d.add_to_group("elena", "nope"), "add_to_group: group 'nope': no such group"),
        (lambda d: d.add_to_group("elena", "*"), "add_to_group: group '*': no such group"),
    ],
    ids=[
        "removing the last member of a group is refused by the schema",
        "an unknown group is refused",
        "a wildcard group name matches no group",
    ],
)
def test_a_refused_membership_change_is_a_clear_error(
    directory: LdapDirectory, action: object, message: str
) -> None:
    with pytest.raises(DirectoryActionError) as caught:
        action(directory)  # type: ignore[operator]

    assert str(caught.value) == message


def test_actions_without_a_configured_marker_are_refused(slapd: Slapd, connect: Connect) -> None:
    bare = connect(attributes={"locked": None, "disabled": None})

    with pytest.raises(DirectoryActionError) as unlock:
        bare.unlock_account("elena")
    with pytest.raises(DirectoryActionError) as disable:
        bare.set_enabled("elena", False)

    assert str(unlock.value) == "unlock_account 'elena': no lock attribute configured"
    assert str(disable.value) == "set_enabled 'elena': no disabled attribute configured"
    assert bare.get_user("omar").status == AccountStatus.ACTIVE


def test_an_action_on_an_unknown_user_is_an_unknown_actor(directory: LdapDirectory) -> None:
    with pytest.raises(UnknownActorError):
        directory.unlock_account("*")


def test_a_wrong_bind_password_is_unavailable_without_the_password(
    slapd: Slapd, connect: Connect
) -> None:
    wrong = connect(bind_password="wrong-Secret-1")

    with pytest.raises(DirectoryUnavailableError) as caught:
        wrong.get_user("elena")

    assert str(caught.value) == (
        f"LDAP directory 'ldap' unavailable at {slapd.url}: "
        "LDAPBindError: bind refused: invalidCredentials"
    )


def test_start_tls_against_a_server_without_tls_is_unavailable(
    slapd: Slapd, connect: Connect
) -> None:
    with pytest.raises(DirectoryUnavailableError) as caught:
        connect(start_tls=True).get_user("elena")

    assert str(caught.value) == (
        f"LDAP directory 'ldap' unavailable at {slapd.url}: "
        "LDAPStartTLSError: startTLS failed - protocolError"
    )


def test_a_dead_first_server_fails_over_to_the_next(slapd: Slapd, connect: Connect) -> None:
    dead = f"ldap://127.0.0.1:{free_port()}"
    pooled = connect(urls=[dead, slapd.url], pool_size=1)

    assert pooled.get_user("elena").id == "elena"
    assert [facts.id for facts in pooled.find_users(username="omar")] == ["omar"]


def test_in_chain_nesting_is_refused_for_openldap(slapd: Slapd) -> None:
    with pytest.raises(ConfigError) as caught:
        ldap_settings(slapd, nested_groups="in_chain")

    assert str(caught.value) == (
        "ldap: invalid LDAP settings: settings: Value error, "
        "nested_groups: in_chain needs flavor active_directory"
    )


def test_an_outage_fails_closed_and_the_same_directory_reconnects(
    directory: LdapDirectory, slapd: Slapd
) -> None:
    assert directory.get_user("elena").id == "elena"  # a pooled connection exists
    slapd.stop()
    try:
        with pytest.raises(DirectoryUnavailableError) as caught:
            directory.get_user("elena")
        with pytest.raises(DirectoryUnavailableError):
            next(directory.iter_users())
    finally:
        slapd.start()

    message = str(caught.value)
    assert message.startswith(f"LDAP directory 'ldap' unavailable at {slapd.url}: ")
    assert ADMIN_PASSWORD not in message
    assert directory.get_user("elena").id == "elena"


def test_a_lookup_is_fast(directory: LdapDirectory) -> None:
    start = time.perf_counter()
    directory.get_user("elena")

    assert time.perf_counter() - start < timedelta(seconds=1).total_seconds()
