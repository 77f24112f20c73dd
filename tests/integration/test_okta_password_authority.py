"""Whose password is it?  Okta users mastered by Active Directory or LDAP have their password
in that directory (``credentials.provider.type``), so resets and unlocks go there, and the
record of the action names the directory that acted and why.

Okta is the local server playing the documented Users API (``okta_server``); Active
Directory is ldap3's mock holding AD-shaped entries; LDAP is a real slapd.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ldap3 import MOCK_SYNC  # type: ignore[import-untyped]
from pydantic import SecretStr

from gateway.errors import ActionFailedError, DirectoryActionError
from gateway.identity.directory import ActionResult, PasswordElsewhereError
from gateway.identity.ldap import LdapDirectory
from gateway.identity.okta import OktaDirectory, OktaSettings
from gateway.identity.resolver import IdentityResolver
from gateway.runtime.actions import ActionCall, ActionOutput
from gateway.runtime.builtin import directory_actions
from gateway.runtime.model import ExecutionState
from tests.identity.test_ldap_active_directory import mock_server, read
from tests.identity.test_ldap_active_directory import settings as ad_settings
from tests.integration.conftest import ldap_settings
from tests.integration.okta_server import OktaServer
from tests.integration.slapd import ADMIN_PASSWORD, Slapd
from tests.scenarios.runtime_support import (
    LDAP_PASSWORD_ENV,
    audit_records,
    binds,
    ldap_identity,
    open_gateway,
    verify_audit,
    write_config,
)

TOKEN = "00Okta-Authority-Token-w8Kd1"
PASSWORD = SecretStr("Fresh-Start-2024")
AD = ("ACTIVE_DIRECTORY", "corp.example.test")
LDAP = ("LDAP", "ldap.example.test")
LDAP_USER = "user09990"  # in the test slapd; no other test touches it


@dataclass
class Org:
    server: OktaServer
    ids: dict[str, str]  # short name -> Okta id

    def writes(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.server.requests if r.method != "GET"]


@pytest.fixture
def org() -> Iterator[Org]:
    server = OktaServer(TOKEN)
    ids = {
        "anna": server.add_user("anna@corp.example.test", provider=AD),
        "boris": server.add_user("boris@corp.example.test", provider=AD),
        "lena": server.add_user("lena@example.com", status="LOCKED_OUT"),
        "fede": server.add_user("fede@example.com", provider=("FEDERATION", "FEDERATION")),
        "sol": server.add_user("sol@example.com", provider=("SOCIAL", "SOCIAL")),
        "ivo": server.add_user("ivo@example.com", provider=("IMPORT", "IMPORT")),
        LDAP_USER: server.add_user(f"{LDAP_USER}@example.test", provider=LDAP),
    }
    server.start()
    yield Org(server, ids)
    server.stop()


@pytest.fixture
def okta(org: Org) -> Iterator[OktaDirectory]:
    settings = OktaSettings(base_url=org.server.base_url, token=TOKEN, max_retries=0)
    with OktaDirectory(settings, sleep=lambda _: None) as directory:
        yield directory


@pytest.fixture
def ad() -> Iterator[tuple[LdapDirectory, object]]:
    server = mock_server()
    with LdapDirectory(ad_settings(), server=server, client_strategy=MOCK_SYNC) as directory:
        yield directory, server


def act(directory: OktaDirectory | IdentityResolver, action: str, user: str) -> ActionResult:
    if action == "reset_password":
        return directory.reset_password(user, PASSWORD)
    return directory.unlock_account(user)


# -- Okta refuses before changing anything ----------------------------------------------


@pytest.mark.parametrize(
    ("user", "flavor", "instance"),
    [
        ("anna", "active_directory", "corp.example.test"),
        (LDAP_USER, "openldap", "ldap.example.test"),
    ],
    ids=["an Active Directory user", "an LDAP user"],
)
@pytest.mark.parametrize("action", ["reset_password", "unlock_account"])
def test_okta_hands_back_a_password_its_directory_owns(
    org: Org, okta: OktaDirectory, user: str, flavor: str, instance: str, action: str
) -> None:
    with pytest.raises(PasswordElsewhereError) as caught:
        act(okta, action, user)

    login = org.server.org.users[org.ids[user]]["profile"]["login"]
    assert (caught.value.flavor, caught.value.directory) == (flavor, instance)
    assert str(caught.value).startswith(
        f"{action} {login!r}: okta reports that the password of {login} is owned by "
    )
    assert instance in str(caught.value)
    assert org.writes() == []


@pytest.mark.parametrize("user", ["fede", "sol"], ids=["a federated user", "a social user"])
def test_a_user_signing_in_through_an_identity_provider_has_no_password_to_reset(
    org: Org, okta: OktaDirectory, user: str
) -> None:
    kind = org.server.org.users[org.ids[user]]["credentials"]["provider"]["type"]

    with pytest.raises(DirectoryActionError) as caught:
        okta.reset_password(user, PASSWORD)

    assert str(caught.value) == (
        f"reset_password '{user}@example.com': {user}@example.com signs in through a {kind} "
        f"identity provider ({kind}); Okta holds no password for this user"
    )
    assert PASSWORD.get_secret_value() not in str(caught.value)
    assert org.writes() == []


def test_an_imported_password_is_okta_s_to_reset(org: Org, okta: OktaDirectory) -> None:
    result = okta.reset_password("ivo", PASSWORD, must_change=False)

    assert result == ActionResult(True, "password set for ivo@example.com")
    assert org.server.org.passwords[org.ids["ivo"]] == PASSWORD.get_secret_value()


def test_okta_unlocks_a_federated_users_okta_lock(org: Org, okta: OktaDirectory) -> None:
    org.server.org.users[org.ids["fede"]]["status"] = "LOCKED_OUT"

    assert okta.unlock_account("fede") == ActionResult(True, "unlocked fede@example.com")


# -- the resolver routes to the directory that owns the password -------------------------


def test_a_reset_of_an_active_directory_user_is_done_in_active_directory(
    org: Org, okta: OktaDirectory, ad: tuple[LdapDirectory, object]
) -> None:
    directory, server = ad
    resolver = IdentityResolver([okta, directory], authoritative="okta")

    result = resolver.reset_password("anna", PASSWORD)

    assert result == ActionResult(
        True,
        "password reset; must change at next logon",
        acted_in="corp-ad",
        routing="okta reports that the password of anna@corp.example.test is owned by "
        "Active Directory 'corp.example.test'; routed to corp-ad",
    )
    dn = "CN=Anna,OU=Users,DC=corp,DC=example,DC=test"
    assert read(server, dn, "unicodePwd") == ['"Fresh-Start-2024"'.encode("utf-16-le")]
    assert org.writes() == []


def test_an_unlock_of_an_active_directory_user_is_done_in_active_directory(
    org: Org, okta: OktaDirectory, ad: tuple[LdapDirectory, object]
) -> None:
    directory, server = ad
    resolver = IdentityResolver([okta, directory], authoritative="okta")

    result = resolver.unlock_account("boris")

    assert (result.changed, result.acted_in) == (True, "corp-ad")
    assert read(server, "CN=Boris,OU=Users,DC=corp,DC=example,DC=test", "lockoutTime") == [b"0"]
    assert org.writes() == []


def test_an_okta_users_unlock_stays_in_okta(
    org: Org, okta: OktaDirectory, ad: tuple[LdapDirectory, object]
) -> None:
    resolver = IdentityResolver([okta, ad[0]], authoritative="okta")

    result = resolver.unlock_account("lena")

    assert result == ActionResult(True, "unlocked lena@example.com", acted_in="okta")
    assert org.writes() == [f"POST /api/v1/users/{org.ids['lena']}/lifecycle/unlock"]


def test_a_reset_of_an_ldap_user_is_done_in_the_ldap_directory(
    org: Org, okta: OktaDirectory, slapd: Slapd
) -> None:
    with LdapDirectory(ldap_settings(slapd)) as ldap:
        resolver = IdentityResolver([okta, ldap])
        result = resolver.reset_password(LDAP_USER, PASSWORD)

    assert (result.acted_in, result.routing) == (
        "ldap",
        f"okta reports that the password of {LDAP_USER}@example.test is owned by "
        "LDAP directory 'ldap.example.test'; routed to ldap",
    )
    assert binds(slapd, LDAP_USER, PASSWORD.get_secret_value())
    assert org.writes() == []


@pytest.mark.parametrize(
    "action", ["reset_password", "unlock_account"], ids=["a reset", "an unlock"]
)
def test_without_the_owning_directory_the_action_is_refused_with_the_reason(
    org: Org, okta: OktaDirectory, action: str
) -> None:
    resolver = IdentityResolver([okta])

    with pytest.raises(DirectoryActionError) as caught:
        act(resolver, action, "anna")

    assert str(caught.value) == (
        f"{action} 'anna@corp.example.test' refused: okta reports that the password of "
        "anna@corp.example.test is owned by Active Directory 'corp.example.test', and no "
        "LDAP source of flavor 'active_directory' is configured to act on it"
    )
    assert org.writes() == []


def test_an_ldap_source_of_another_kind_is_not_the_owner(
    org: Org, okta: OktaDirectory, slapd: Slapd
) -> None:
    with LdapDirectory(ldap_settings(slapd)) as ldap:
        resolver = IdentityResolver([okta, ldap])
        with pytest.raises(DirectoryActionError, match="no LDAP source of flavor"):
            resolver.reset_password("anna", PASSWORD)
    assert org.writes() == []


# -- the shipped actions say which directory acted ---------------------------------------


def run(resolver: IdentityResolver, name: str, **parameters: object) -> ActionOutput:
    action = next(a for a in directory_actions(resolver, resolver) if a.name == name)
    plain, secrets = action.parameter_set.validate(parameters)
    return action.run(ActionCall("e-1", "step", "elena", plain, secrets))


def test_the_reset_action_names_the_directory_that_acted_and_why(
    okta: OktaDirectory, ad: tuple[LdapDirectory, object]
) -> None:
    resolver = IdentityResolver([okta, ad[0]], authoritative="okta")

    reset = run(resolver, "password.reset", user="anna")
    unlocked = run(resolver, "account.unlock", user="lena")

    assert reset.values == {
        "changed": True,
        "must_change": True,
        "acted_in": "corp-ad",
        "routing": "okta reports that the password of anna@corp.example.test is owned by "
        "Active Directory 'corp.example.test'; routed to corp-ad",
    }
    assert unlocked.values == {"changed": True, "acted_in": "okta"}


def test_the_unlock_action_fails_with_the_reason_when_no_directory_can_act(
    okta: OktaDirectory,
) -> None:
    with pytest.raises(ActionFailedError, match="no LDAP source of flavor 'active_directory'"):
        run(IdentityResolver([okta]), "account.unlock", user="boris")


# -- end to end: the configured gateway, its runtime and its audit log --------------------


def test_a_reset_through_the_gateway_is_audited_with_the_directory_that_acted(
    tmp_path: Path, org: Org, slapd: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LDAP_PASSWORD_ENV, ADMIN_PASSWORD)
    monkeypatch.setenv("AUTHORITY_OKTA_TOKEN", TOKEN)
    identity = ldap_identity(slapd).replace('sources = ["ldap"]', 'sources = ["okta", "ldap"]')
    identity += (
        f"[identity.okta]\nbase_url = {json.dumps(org.server.base_url)}\n"
        'token_env = "AUTHORITY_OKTA_TOKEN"\nmax_retries = 0\n'
    )
    runtime = open_gateway(write_config(tmp_path, extra=identity))
    try:
        started = runtime.executor.start("password-reset", {"user": LDAP_USER}, actor="elena")
        finished = runtime.executor.advance(started.id)
        assert finished.state is ExecutionState.SUCCEEDED, finished.status
        password = runtime.executor.reveal(started.id, "temporary_password", "elena")
        refused = runtime.executor.start("password-reset", {"user": "anna"}, actor="elena")
        refused = runtime.executor.advance(refused.id)
    finally:
        runtime.close()

    assert finished.state is ExecutionState.SUCCEEDED
    assert binds(slapd, LDAP_USER, password)
    records = [
        r
        for r in audit_records(tmp_path)
        if r.type == "action.succeeded" and r.payload.get("step") == "reset"
    ]
    assert [r.payload["output"] for r in records] == [
        {
            "changed": True,
            "must_change": True,
            "acted_in": "ldap",
            "routing": f"okta reports that the password of {LDAP_USER}@example.test is owned "
            "by LDAP directory 'ldap.example.test'; routed to ldap",
        }
    ]
    why = (
        "reset_password 'anna@corp.example.test' refused: okta reports that the password of "
        "anna@corp.example.test is owned by Active Directory 'corp.example.test', and no LDAP "
        "source of flavor 'active_directory' is configured to act on it"
    )
    assert refused.state is ExecutionState.FAILED
    failed = [
        r
        for r in audit_records(tmp_path)
        if r.type == "action.failed" and r.payload.get("execution") == refused.id
    ]
    assert [r.payload.get("step") for r in failed] == ["reset"]
    assert why in json.dumps(failed[0].payload)
    assert password not in (tmp_path / "var" / "audit.log").read_text(encoding="utf-8")
    assert org.writes() == []
    assert verify_audit(tmp_path) == len(audit_records(tmp_path))
