"""OktaDirectory against a local server speaking the Okta Management API shapes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from gateway.errors import (
    DirectoryActionError,
    DirectoryUnavailableError,
    IdentityError,
    UnknownActorError,
)
from gateway.identity.directory import ActionResult, DirectoryActions, account_facts
from gateway.identity.facts import AccountStatus, IdentityFacts
from gateway.identity.okta import OktaDirectory, OktaSettings
from tests.integration.okta_server import OktaServer

TOKEN = "00Okta-Test-Token-q7Xv2"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
PASSWORD = SecretStr("Correct-Horse-42")


@dataclass
class Org:
    server: OktaServer
    users: dict[str, str]  # short name -> Okta id
    groups: dict[str, str]  # name -> Okta id

    def path(self, name: str) -> str:
        return f"/api/v1/users/{self.users[name]}"


def seed(server: OktaServer) -> Org:
    groups = {
        name: server.add_group(name)
        for name in ("Everyone", "Helpdesk", "Helpdesk Leads", "IT Staff", "VPN Users")
    }
    groups["Domain Admins"] = server.add_group("Domain Admins")
    groups["Finance"] = server.add_group("Finance")
    omar = server.add_user(
        "omar@example.com", firstName="Omar", lastName="Haddad", manager="ceo@example.com"
    )
    elena = server.add_user(
        "elena@example.com",
        displayName="Elena Ruiz",
        firstName="Elena",
        lastName="Ruiz",
        department="IT",
        title="Support Specialist",
        managerId=omar,
        city="Lisbon",
        userType="Contractor",
        lastUpdated="2024-05-30T08:15:00.000Z",
        passwordChanged="2024-04-01T09:00:00.000Z",
    )
    ghost = server.add_user("ghost@example.com", managerId="00u9999")
    locked = server.add_user("lena@example.com", status="LOCKED_OUT")
    for name in ("Everyone", "Helpdesk", "IT Staff", "VPN Users"):
        server.add_member(groups[name], elena)
    server.add_member(groups["Everyone"], omar)
    server.add_member(groups["Domain Admins"], omar)
    for factor, status in [
        ("token:software:totp", "ACTIVE"),
        ("push", "ACTIVE"),
        ("push", "ACTIVE"),
        ("sms", "PENDING_ACTIVATION"),
    ]:
        server.add_factor(elena, factor, status)
    users = {"omar": omar, "elena": elena, "ghost": ghost, "lena": locked}
    return Org(server, users, groups)


def okta_settings(base_url: str, **overrides: object) -> OktaSettings:
    values: dict[str, object] = {
        "base_url": base_url,
        "token": TOKEN,
        "max_retries": 2,
        "max_wait_seconds": 30,
        "privileged_groups": ["Domain Admins"],
    }
    return OktaSettings.model_validate(values | overrides)


@pytest.fixture
def org() -> Iterator[Org]:
    server = OktaServer(TOKEN)
    seeded = seed(server)
    server.start()
    yield seeded
    server.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def connect(org: Org, sleeps: list[float], **overrides: object) -> OktaDirectory:
    settings = okta_settings(org.server.base_url, **overrides)
    return OktaDirectory(settings, clock=NOW.timestamp, sleep=sleeps.append)


@pytest.fixture
def okta(org: Org, sleeps: list[float]) -> Iterator[OktaDirectory]:
    with connect(org, sleeps) as directory:
        yield directory


def requests_to(org: Org, path: str) -> list[str]:
    return [f"{r.method} {r.path}" for r in org.server.requests if r.path.startswith(path)]


# -- facts ------------------------------------------------------------------------------


def test_a_user_is_read_with_every_fact_and_its_provenance(okta: OktaDirectory) -> None:
    assert okta.get_user("elena@example.com") == IdentityFacts(
        id="elena@example.com",
        username="elena@example.com",
        display_name="Elena Ruiz",
        email="elena@example.com",
        status=AccountStatus.ACTIVE,
        groups=frozenset({"Everyone", "Helpdesk", "IT Staff", "VPN Users"}),
        department="IT",
        title="Support Specialist",
        manager="omar@example.com",
        location="Lisbon",
        employee_type="Contractor",
        mfa_factors=("token:software:totp", "push"),
        privileged=False,
        source="okta",
        read_at=NOW,
        changed_at=datetime(2024, 5, 30, 8, 15, tzinfo=UTC),
        password_changed_at=datetime(2024, 4, 1, 9, tzinfo=UTC),
    )


def test_groups_are_read_across_every_page_with_the_token(org: Org, okta: OktaDirectory) -> None:
    okta.get_user("elena")
    pages = [r for r in org.server.requests if r.path == f"{org.path('elena')}/groups"]
    assert [r.query.get("after") for r in pages] == [None, [org.groups["Helpdesk"]]]
    assert pages[0].query["limit"] == ["200"]
    assert {r.headers["Authorization"] for r in org.server.requests} == {f"SSWS {TOKEN}"}


def test_a_privileged_user_without_display_name_or_factors(okta: OktaDirectory) -> None:
    omar = okta.get_user("omar")
    assert (omar.display_name, omar.privileged, omar.mfa_factors) == ("Omar Haddad", True, ())
    assert (omar.employee_type, omar.password_changed_at) == ("employee", None)


def test_a_manager_okta_does_not_know_is_no_manager_on_record_with_the_reason(
    okta: OktaDirectory,
) -> None:
    ghost, omar = okta.get_user("ghost"), okta.get_user("omar")

    assert (ghost.manager, ghost.display_name) == (None, "")
    assert ghost.notes == {
        "manager": "no manager on record: Okta has no user '00u9999' (managerId)"
    }
    assert omar.manager is None
    assert omar.notes == {
        "manager": "no manager on record: no Okta user is named 'ceo@example.com' (manager)"
    }


@pytest.mark.parametrize(
    "key",
    ["00u0003", "elena@example.com", "elena", "ELENA@Example.com"],
    ids=[
        "an Okta id finds the user",
        "a login finds the user",
        "a login's short name finds the user",
        "a login in other case finds the user",
    ],
)
def test_a_user_is_found_by_id_login_or_short_name(okta: OktaDirectory, key: str) -> None:
    assert okta.get_user(key).id == "elena@example.com"


@pytest.mark.parametrize(
    ("okta_status", "status"),
    [
        ("ACTIVE", AccountStatus.ACTIVE),
        ("LOCKED_OUT", AccountStatus.LOCKED),
        ("SUSPENDED", AccountStatus.SUSPENDED),
        ("PASSWORD_EXPIRED", AccountStatus.PASSWORD_EXPIRED),
        ("RECOVERY", AccountStatus.PASSWORD_EXPIRED),
        ("PROVISIONED", AccountStatus.PASSWORD_EXPIRED),
        ("STAGED", AccountStatus.DISABLED),
        ("DEPROVISIONED", AccountStatus.DISABLED),
        ("SOMETHING_NEW", AccountStatus.DISABLED),
    ],
    ids=[
        "ACTIVE reads as active",
        "LOCKED_OUT reads as locked",
        "SUSPENDED reads as suspended",
        "PASSWORD_EXPIRED reads as password expired",
        "RECOVERY reads as password expired",
        "PROVISIONED reads as password expired",
        "STAGED reads as disabled",
        "DEPROVISIONED reads as disabled",
        "an unknown status fails closed as disabled",
    ],
)
def test_every_okta_status_maps_to_an_account_status(
    org: Org, okta: OktaDirectory, okta_status: str, status: AccountStatus
) -> None:
    org.server.add_user("sam@example.com", status=okta_status)
    assert okta.get_user("sam").status is status


def test_the_source_is_named_by_the_settings(org: Org, sleeps: list[float]) -> None:
    with connect(org, sleeps, name="okta-emea") as directory:
        assert (directory.name, directory.get_user("omar").source) == ("okta-emea", "okta-emea")


def test_an_account_resource_is_the_users_account(org: Org, okta: OktaDirectory) -> None:
    assert okta.get_resource("account", "elena") == account_facts(okta.get_user("elena"))
    assert okta.get_resource("account", "nobody") is None
    before = len(org.server.requests)
    assert okta.get_resource("software", "visio") is None
    assert len(org.server.requests) == before


@pytest.mark.parametrize(
    "user_id",
    ["nobody@example.com", "", "..", "me", "../groups", "x?search=*", "\ud800"],
    ids=[
        "an unknown login is unknown",
        "an empty id is unknown without asking",
        "a dot segment is unknown without asking",
        "Okta's alias for the token owner is not a user",
        "a path is one segment and unknown",
        "a query is one segment and unknown",
        "a lone surrogate is unknown",
    ],
)
def test_a_user_okta_does_not_have_is_unknown(okta: OktaDirectory, user_id: str) -> None:
    with pytest.raises(UnknownActorError) as caught:
        okta.get_user(user_id)
    assert str(caught.value) == f"unknown user {user_id!r}: not found in the directory"


# -- find_users -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "found", "search"),
    [
        (
            {"email": "Elena@Example.com"},
            ["elena@example.com"],
            'profile.email eq "Elena@Example.com"',
        ),
        (
            {"username": "omar@example.com"},
            ["omar@example.com"],
            'profile.login eq "omar@example.com"',
        ),
        (
            {"email": "elena@example.com", "username": "omar@example.com"},
            ["omar@example.com", "elena@example.com"],
            'profile.email eq "elena@example.com" or profile.login eq "omar@example.com"',
        ),
        (
            {"email": 'x" or profile.login eq "omar@example.com'},
            [],
            'profile.email eq "x\\" or profile.login eq \\"omar@example.com"',
        ),
        ({"username": 'back\\slash"'}, [], 'profile.login eq "back\\\\slash\\""'),
    ],
    ids=[
        "an email matches whatever its case",
        "a username matches its login",
        "an email or a username matches either",
        "a quote in the value cannot widen the search",
        "a backslash in the value is escaped too",
    ],
)
def test_users_are_found_by_exact_email_or_username(
    org: Org, okta: OktaDirectory, query: dict[str, str], found: list[str], search: str
) -> None:
    assert [user.id for user in okta.find_users(**query)] == found
    searches = [r.query["search"] for r in org.server.requests if r.path == "/api/v1/users"]
    managers = [[f"profile.displayName eq {json.dumps(name)}"] for name in ("ceo@example.com",)]
    assert [s for s in searches if s not in managers] == [[search]]


def test_finding_nothing_asks_nothing(org: Org, okta: OktaDirectory) -> None:
    assert okta.find_users() == []
    assert okta.find_users(email="", username="") == []
    assert org.server.requests == []


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text(min_size=1))
def test_any_search_value_reaches_okta_intact(org: Org, okta: OktaDirectory, value: str) -> None:
    org.server.requests.clear()
    found = okta.find_users(email=value)
    sent = org.server.requests[0].query["search"][0].removeprefix("profile.email eq ")
    assert json.loads(sent) == value
    assert all((user.email or "").casefold() == value.casefold() for user in found)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(user_id=st.text())
def test_any_other_user_id_is_unknown(org: Org, okta: OktaDirectory, user_id: str) -> None:
    users = org.server.org.users.values()
    known = {str(user["id"]) for user in users} | {
        name
        for user in users
        for name in (user["profile"]["login"], user["profile"]["login"].split("@")[0])
    }
    assume(user_id.casefold() not in known)
    with pytest.raises(UnknownActorError) as caught:
        okta.get_user(user_id)
    assert caught.value.user_id == user_id


# -- actions ----------------------------------------------------------------------------


def test_the_directory_offers_the_support_actions(okta: OktaDirectory) -> None:
    assert isinstance(okta, DirectoryActions)


def test_a_password_reset_sets_the_password_and_expires_it(org: Org, okta: OktaDirectory) -> None:
    result = okta.reset_password("elena", PASSWORD)
    assert result == ActionResult(
        True, "password set for elena@example.com; must change it at next sign-in"
    )
    elena = org.users["elena"]
    assert org.server.org.passwords[elena] == PASSWORD.get_secret_value()
    assert org.server.status_of(elena) == "PASSWORD_EXPIRED"
    lifecycle = [r for r in org.server.requests if r.path.endswith("/expire_password")]
    assert [r.query for r in lifecycle] == [{"tempPassword": ["false"]}]


def test_a_password_reset_that_need_not_change_leaves_the_user_active(
    org: Org, okta: OktaDirectory
) -> None:
    org.server.org.users[org.users["elena"]]["status"] = "PASSWORD_EXPIRED"
    result = okta.reset_password("elena", PASSWORD, must_change=False)
    assert result == ActionResult(True, "password set for elena@example.com")
    assert org.server.status_of(org.users["elena"]) == "ACTIVE"
    assert requests_to(org, org.path("elena") + "/lifecycle") == []


@pytest.mark.parametrize(
    "echo",
    [False, True],
    ids=["a weak password is refused", "a peer echoing the password gets it redacted"],
)
def test_a_refused_password_is_never_shown(org: Org, okta: OktaDirectory, echo: bool) -> None:
    org.server.echo_passwords = echo
    with pytest.raises(DirectoryActionError) as caught:
        okta.reset_password("elena", SecretStr("short"))
    shown = " '[redacted]'" if echo else ""
    assert str(caught.value) == (
        f"Okta POST {org.path('elena')}: HTTP 400 E0000001: Api validation failed: password"
        f"{shown} (password: Password requirements were not met. At least 8 characters.)"
    )
    assert "short" not in repr(caught.value)


def test_a_suspended_users_password_cannot_be_set(org: Org, okta: OktaDirectory) -> None:
    org.server.org.users[org.users["elena"]]["status"] = "SUSPENDED"
    with pytest.raises(DirectoryActionError) as caught:
        okta.reset_password("elena", PASSWORD)
    assert str(caught.value) == (
        f"Okta POST {org.path('elena')}: HTTP 403 E0000112: "
        "Unable to update the password of a SUSPENDED user."
    )


def test_unlocking_is_done_once(org: Org, okta: OktaDirectory) -> None:
    assert okta.unlock_account("lena") == ActionResult(True, "unlocked lena@example.com")
    assert org.server.status_of(org.users["lena"]) == "ACTIVE"
    assert okta.unlock_account("lena") == ActionResult(
        False, "lena@example.com is not locked out (Okta status ACTIVE)"
    )
    assert requests_to(org, org.path("lena") + "/lifecycle") == [
        f"POST {org.path('lena')}/lifecycle/unlock"
    ]


@pytest.mark.parametrize(
    ("before", "enabled", "after", "done"),
    [
        ("ACTIVE", False, "SUSPENDED", "suspended"),
        ("SUSPENDED", True, "ACTIVE", "unsuspended"),
        ("STAGED", True, "PROVISIONED", "activated"),
        ("DEPROVISIONED", True, "PROVISIONED", "activated"),
        ("SUSPENDED", False, "SUSPENDED", None),
        ("DEPROVISIONED", False, "DEPROVISIONED", None),
        ("ACTIVE", True, "ACTIVE", None),
        ("LOCKED_OUT", True, "LOCKED_OUT", None),
    ],
    ids=[
        "disabling an active user suspends it",
        "enabling a suspended user unsuspends it",
        "enabling a staged user activates it",
        "enabling a deactivated user activates it",
        "disabling a suspended user changes nothing",
        "disabling a deactivated user changes nothing",
        "enabling an active user changes nothing",
        "enabling a locked user changes nothing",
    ],
)
def test_enabling_and_disabling_follow_the_okta_lifecycle(
    org: Org, okta: OktaDirectory, before: str, enabled: bool, after: str, done: str | None
) -> None:
    sam = org.server.add_user("sam@example.com", status=before)
    state = "enabled" if enabled else "disabled"
    assert okta.set_enabled("sam", enabled) == (
        ActionResult(True, f"{done} sam@example.com (was {before})")
        if done
        else ActionResult(False, f"sam@example.com is already {state} (Okta status {before})")
    )
    assert org.server.status_of(sam) == after
    calls = [r.query for r in org.server.requests if "/lifecycle/" in r.path]
    assert calls == ([{"sendEmail": ["false"]}] if done == "activated" else [{}] if done else [])


def test_okta_refusing_a_lifecycle_change_is_an_action_error(org: Org, okta: OktaDirectory) -> None:
    with pytest.raises(DirectoryActionError) as caught:
        okta.set_enabled("lena", False)
    assert str(caught.value) == (
        f"Okta POST {org.path('lena')}/lifecycle/suspend: HTTP 400 E0000001: "
        "Api validation failed: cannot suspend a LOCKED_OUT user"
    )


def test_group_membership_is_added_and_removed_once(org: Org, okta: OktaDirectory) -> None:
    elena = org.users["elena"]
    assert okta.add_to_group("elena", "Finance") == ActionResult(
        True, "added elena@example.com to Finance"
    )
    assert "Finance" in org.server.group_names_of(elena)
    assert okta.add_to_group("elena", "Finance") == ActionResult(
        False, "elena@example.com is already in Finance"
    )
    assert okta.remove_from_group("elena", "Finance") == ActionResult(
        True, "removed elena@example.com from Finance"
    )
    assert "Finance" not in org.server.group_names_of(elena)
    assert okta.remove_from_group("elena", "Finance") == ActionResult(
        False, "elena@example.com is not in Finance"
    )
    finance = org.groups["Finance"]
    assert requests_to(org, f"/api/v1/groups/{finance}") == [
        f"PUT /api/v1/groups/{finance}/users/{elena}",
        f"DELETE /api/v1/groups/{finance}/users/{elena}",
    ]


def test_a_group_is_chosen_by_its_exact_name(org: Org, okta: OktaDirectory) -> None:
    assert okta.add_to_group("omar", "Helpdesk").changed
    assert okta.add_to_group("omar", "Helpdesk Leads").changed
    assert org.server.group_names_of(org.users["omar"]) >= {"Helpdesk", "Helpdesk Leads"}


@pytest.mark.parametrize(
    "group",
    ["Nope", "Help"],
    ids=["an unknown group is refused", "a prefix of group names is not a group"],
)
def test_a_group_okta_does_not_have_is_an_action_error(okta: OktaDirectory, group: str) -> None:
    with pytest.raises(DirectoryActionError) as caught:
        okta.add_to_group("elena", group)
    assert str(caught.value) == f"Okta has no group named {group!r}"


@pytest.mark.parametrize(
    "action",
    [
        lambda okta: okta.reset_password("nobody", PASSWORD),
        lambda okta: okta.unlock_account("nobody"),
        lambda okta: okta.set_enabled("nobody", False),
        lambda okta: okta.add_to_group("nobody", "Finance"),
        lambda okta: okta.remove_from_group("nobody", "Finance"),
    ],
    ids=[
        "resetting an unknown user's password",
        "unlocking an unknown user",
        "disabling an unknown user",
        "adding an unknown user to a group",
        "removing an unknown user from a group",
    ],
)
def test_an_action_on_an_unknown_user_is_refused(
    okta: OktaDirectory, action: Callable[[OktaDirectory], ActionResult]
) -> None:
    with pytest.raises(UnknownActorError, match=r"^unknown user 'nobody': not found"):
        action(okta)


def test_a_user_vanishing_mid_action_is_unknown(org: Org, okta: OktaDirectory) -> None:
    summary = f"Not found: Resource not found: {org.users['lena']} (User)"
    org.server.fail(1, 404, "E0000007", summary, on="/lifecycle/")
    with pytest.raises(UnknownActorError, match=r"^unknown user 'lena'"):
        okta.unlock_account("lena")


# -- transport: rate limits, retries, failures -------------------------------------------


@pytest.mark.parametrize(
    ("reset_in", "waits"),
    [(7, [7.0, 7.0]), (1000, [30.0, 30.0]), (-5, [0.0, 0.0])],
    ids=[
        "a 429 waits until X-Rate-Limit-Reset",
        "a far reset is capped by max_wait_seconds",
        "a reset in the past retries at once",
    ],
)
def test_rate_limits_are_honoured(
    org: Org, okta: OktaDirectory, sleeps: list[float], reset_in: int, waits: list[float]
) -> None:
    org.server.rate_limit(2, reset=int(NOW.timestamp()) + reset_in)
    assert okta.get_user("omar").id == "omar@example.com"
    assert sleeps == waits
    assert [r.path for r in org.server.requests[:4]] == ["/api/v1/users/omar"] * 3 + [
        f"{org.path('omar')}/groups"
    ]


def test_a_rate_limit_without_a_reset_backs_off(
    org: Org, okta: OktaDirectory, sleeps: list[float]
) -> None:
    org.server.rate_limit(2, reset="soon")
    okta.get_user("omar")
    assert sleeps == [0.5, 1.0]


def test_a_lasting_rate_limit_gives_up(org: Org, okta: OktaDirectory, sleeps: list[float]) -> None:
    org.server.rate_limit(10, reset=int(NOW.timestamp()) + 1)
    with pytest.raises(DirectoryUnavailableError) as caught:
        okta.get_user("omar")
    assert str(caught.value) == (
        f"Okta at {org.server.base_url}: GET /api/v1/users/omar: rate limited (HTTP 429, "
        "X-Rate-Limit-Limit 600, X-Rate-Limit-Remaining 0); gave up after 3 attempts"
    )
    assert (sleeps, len(org.server.requests)) == ([1.0, 1.0], 3)


def test_server_errors_are_retried_with_backoff(
    org: Org, okta: OktaDirectory, sleeps: list[float]
) -> None:
    org.server.fail(2, status=503)
    assert okta.unlock_account("lena").changed
    assert sleeps == [0.5, 1.0]
    assert org.server.status_of(org.users["lena"]) == "ACTIVE"


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (None, "HTTP 500 E0000009: Internal Server Error"),
        (b"<html>bad gateway</html>", "HTTP 500 (no Okta error object)"),
    ],
    ids=["an Okta error object is named", "an answer without one says so"],
)
def test_lasting_server_errors_give_up(
    org: Org, okta: OktaDirectory, body: bytes | None, shown: str
) -> None:
    if body is None:
        org.server.fail(3)
    else:
        org.server.answer_raw(3, 500, body, "text/html")
    with pytest.raises(DirectoryUnavailableError) as caught:
        okta.get_user("omar")
    assert str(caught.value) == (
        f"Okta at {org.server.base_url}: GET /api/v1/users/omar: {shown}; gave up after 3 attempts"
    )


def test_a_wrong_token_is_named_but_never_shown(org: Org, sleeps: list[float]) -> None:
    settings = okta_settings(org.server.base_url, token="00Wrong-Token-zz")
    with (
        OktaDirectory(settings, sleep=sleeps.append) as directory,
        pytest.raises(IdentityError) as caught,
    ):
        directory.get_user("omar")
    assert type(caught.value) is IdentityError
    assert str(caught.value) == (
        f"Okta at {org.server.base_url} rejected the API token: "
        "HTTP 401 E0000011: Invalid token provided"
    )
    assert "Wrong-Token" not in repr(caught.value)
    assert sleeps == []


FORBIDDEN = "You do not have permission to perform the requested action"


def test_a_forbidden_read_is_an_identity_error(org: Org, okta: OktaDirectory) -> None:
    org.server.fail(1, 403, "E0000006", FORBIDDEN)
    with pytest.raises(IdentityError) as caught:
        okta.get_user("omar")
    assert type(caught.value) is IdentityError
    assert str(caught.value) == f"Okta GET /api/v1/users/omar: HTTP 403 E0000006: {FORBIDDEN}"


def test_a_forbidden_change_is_an_action_error(org: Org, okta: OktaDirectory) -> None:
    org.server.fail(1, 403, "E0000006", FORBIDDEN, on="/lifecycle/")
    with pytest.raises(DirectoryActionError) as caught:
        okta.set_enabled("omar", False)
    assert str(caught.value) == (
        f"Okta POST {org.path('omar')}/lifecycle/suspend: HTTP 403 E0000006: {FORBIDDEN}"
    )
    assert org.server.status_of(org.users["omar"]) == "ACTIVE"


def test_a_stopped_server_is_unavailable_and_named(org: Org, okta: OktaDirectory) -> None:
    okta.get_user("omar")  # a pooled connection exists
    org.server.stop()
    with pytest.raises(DirectoryUnavailableError) as caught:
        okta.get_user("omar")
    assert str(caught.value).startswith(
        f"Okta at {org.server.base_url} cannot be reached: GET /api/v1/users/omar: ConnectError: "
    )


def test_a_server_that_does_not_answer_in_time_is_unavailable(
    org: Org, sleeps: list[float]
) -> None:
    org.server.stall_seconds = 1.0
    with (
        connect(org, sleeps, timeout_seconds=0.2) as directory,
        pytest.raises(DirectoryUnavailableError) as caught,
    ):
        directory.get_user("omar")
    assert str(caught.value) == (
        f"Okta at {org.server.base_url}: no answer to GET /api/v1/users/omar within 0.2s"
    )


@pytest.mark.parametrize(
    ("on", "status", "body", "message"),
    [
        (
            "/omar",
            200,
            b"<html>login</html>",
            "Okta GET /api/v1/users/omar: expected JSON, found text/html",
        ),
        (
            "/groups",
            200,
            b'{"id": "00g1"}',
            "Okta GET /api/v1/users/00u0002/groups: expected a list, found dict",
        ),
        (
            "/omar",
            200,
            b'{"id": "00u0002", "status": "ACTIVE", "profile": {}}',
            "Okta GET /api/v1/users/omar: unexpected answer: profile.login: Field required",
        ),
        (
            "/factors",
            200,
            b"[[]]",
            "Okta GET /api/v1/users/00u0002/factors: unexpected answer: (top level): "
            "Input should be a valid dictionary or instance of OktaFactor",
        ),
        ("/omar", 418, b"[]", "Okta GET /api/v1/users/omar: HTTP 418 (no Okta error object)"),
    ],
    ids=[
        "an HTML page is not an answer",
        "a list endpoint answering an object is refused",
        "a user without a login is refused naming the field",
        "a factor that is not an object is refused",
        "an error without an error object says so",
    ],
)
def test_malformed_answers_are_identity_errors(
    org: Org, okta: OktaDirectory, on: str, status: int, body: bytes, message: str
) -> None:
    org.server.answer_raw(1, status, body, "text/html" if body.startswith(b"<") else "", on=on)
    with pytest.raises(IdentityError) as caught:
        okta.get_user("omar")
    assert type(caught.value) is IdentityError
    assert str(caught.value) == message


def test_a_next_page_on_another_host_is_never_followed(org: Org, okta: OktaDirectory) -> None:
    org.server.foreign_next_link = True
    with pytest.raises(IdentityError) as caught:
        okta.get_user("elena")
    assert str(caught.value) == (
        f"Okta GET {org.path('elena')}/groups: refusing a next page outside "
        f"{org.server.base_url}: http://elsewhere.example{org.path('elena')}/groups"
        f"?limit=2&after={org.groups['Helpdesk']}"
    )


# -- secrets ----------------------------------------------------------------------------


def test_no_token_or_password_reaches_a_log_repr_or_error(
    org: Org, okta: OktaDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    org.server.fail(1)
    org.server.echo_passwords = True
    okta.reset_password("elena", PASSWORD)
    with pytest.raises(DirectoryActionError) as caught:
        okta.reset_password("elena", SecretStr("tiny-pw"))
    seen = [caplog.text, str(caught.value), repr(caught.value), repr(okta), repr(okta.__dict__)]
    for secret in (TOKEN, PASSWORD.get_secret_value(), "tiny-pw"):
        assert not any(secret in text for text in seen), secret
    assert "okta GET /api/v1/users/elena: HTTP 500, retrying in 0.5s" in caplog.text
    assert repr(okta) == f"OktaDirectory(name='okta', base_url='{org.server.base_url}')"


# -- settings ---------------------------------------------------------------------------


def test_settings_never_show_the_token() -> None:
    settings = okta_settings("https://example.okta.com/")
    assert settings.base_url == "https://example.okta.com"
    assert TOKEN not in f"{settings!r} {settings!s}"


@pytest.mark.parametrize(
    "base_url",
    ["http://localhost:8080", "http://127.0.0.1:1", "http://[::1]:9", "https://acme.okta.com:443"],
    ids=[
        "localhost over http",
        "IPv4 loopback over http",
        "IPv6 loopback over http",
        "https with a port",
    ],
)
def test_http_is_accepted_only_for_loopback(base_url: str) -> None:
    assert okta_settings(base_url).base_url == base_url


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"base_url": "http://example.okta.com"}, "plain http is allowed only for a loopback host"),
        ({"base_url": "http://10.0.0.1"}, "plain http is allowed only for a loopback host"),
        ({"base_url": "ftp://example.okta.com"}, "expected an https:// URL"),
        ({"base_url": "example.okta.com"}, "expected an https:// URL"),
        ({"base_url": "https://admin:pw@example.okta.com"}, "expected scheme, host and port only"),
        ({"base_url": "https://example.okta.com/api/v1"}, "expected the org URL without a path"),
        ({"token": "00Okta token"}, "must not contain spaces or control characters"),
        ({"token": "00Okta\ntoken"}, "must not contain spaces or control characters"),
        ({"page_size": 500}, "less than or equal to 200"),
    ],
    ids=[
        "plain http to a remote host is refused",
        "plain http to a private address is refused",
        "another scheme is refused",
        "a bare host name is refused",
        "credentials in the URL are refused",
        "a path in the URL is refused",
        "a token with a space is refused",
        "a token with a newline is refused",
        "a page larger than Okta allows is refused",
    ],
)
def test_bad_settings_are_refused_without_showing_the_input(
    overrides: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        OktaSettings.model_validate(
            {"base_url": "https://example.okta.com", "token": TOKEN} | overrides
        )
    assert problem in str(caught.value)
    assert "00Okta" not in str(caught.value)
    assert "admin:pw" not in str(caught.value)
