"""The directory parsed once into every policy engine a serving gateway puts in force:
decisions on unchanged facts use it, a reload keeps it, a changed fact is seen at once,
and LDAP or Okta are loaded only when ``[identity] preload_cached_facts`` asks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.identity.resolver import IdentityResolver
from gateway.policy.engine import PolicyEngine
from tests.api.conftest import Api, build_api
from tests.integration.okta_server import OktaServer

OKTA_TOKEN = "00Okta-Base-Test-Token-7fQ2"
OKTA_TOKEN_ENV = "BASE_TEST_OKTA_TOKEN"
EXTRA_POLICY = '@id("base-test-extra")\nforbid (principal, action, resource) when { false };\n'


def decide(api: Api, actor: str, action: str, resource: str) -> bool:
    response = api.client.post(
        "/v1/decisions",
        json={"actor": actor, "action": action, "resource": resource},
        headers=api.as_service("decisions:write"),
    )
    assert response.status_code == 200, response.text
    allowed: bool = response.json()["allow"]
    return allowed


def engine(api: Api) -> PolicyEngine:
    return api.gateway.policies.engine


def reload_with_a_new_policy(api: Api) -> None:
    cedar = api.config.policy.dir / "cedar" / "base_test_extra.cedar"
    cedar.write_text(EXTRA_POLICY, encoding="utf-8")
    old = engine(api).digest
    outcome = api.gateway.policies.reload_if_changed()
    assert outcome.error is None, outcome
    assert outcome.changed
    assert engine(api).digest != old
    (record,) = api.audited("policy.reloaded")
    assert record.payload["new_digest"] == engine(api).digest


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    made = build_api(tmp_path)
    yield made
    made.close()


def test_a_served_gateway_decides_on_the_embedded_directory_parsed_once(api: Api) -> None:
    assert engine(api).directory_entities > 0

    assert decide(api, "elena", "password.reset", "account:tom")
    assert not decide(api, "tom", "password.reset", "account:elena")

    assert engine(api).directory_decisions >= 2
    decisions = [record.payload["decision"] for record in api.audited("decision")]
    assert decisions == ["allow", "deny"]


def test_a_reloaded_bundle_serves_with_the_directory_loaded(api: Api) -> None:
    assert decide(api, "elena", "password.reset", "account:tom")

    reload_with_a_new_policy(api)

    assert engine(api).directory_entities > 0
    assert engine(api).directory_decisions == 0
    assert decide(api, "elena", "password.reset", "account:tom")
    assert engine(api).directory_decisions >= 1


# -- Okta: the resolver's cached facts, only when asked ------------------------------------


@pytest.fixture(scope="module")
def okta_server() -> Iterator[OktaServer]:
    """An Okta-shaped org (tests/integration/okta_server.py) with a helpdesk member."""
    server = OktaServer(OKTA_TOKEN)
    server.start()
    yield server
    server.stop()


def okta_api(folder: Path, server: OktaServer, *, preload: bool) -> Api:
    return build_api(
        folder,
        f"""
[identity]
sources = ["okta"]
preload_cached_facts = {str(preload).lower()}

[identity.okta]
base_url = "{server.base_url}"
token_env = "{OKTA_TOKEN_ENV}"
max_retries = 0
""",
    )


@pytest.fixture
def okta_people(okta_server: OktaServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv(OKTA_TOKEN_ENV, OKTA_TOKEN)
    okta_server.org.users.clear()
    okta_server.org.groups.clear()
    okta_server.org.members.clear()
    helpdesk = okta_server.add_group("helpdesk")
    people = {
        "elena": okta_server.add_user("elena@example.test"),
        "tom": okta_server.add_user("tom@example.test"),
    }
    okta_server.add_member(helpdesk, people["elena"])
    return people


def test_okta_facts_cached_before_a_reload_are_loaded_when_asked_and_a_change_is_seen_at_once(
    tmp_path: Path, okta_server: OktaServer, okta_people: dict[str, str]
) -> None:
    api = okta_api(tmp_path, okta_server, preload=True)
    try:
        assert engine(api).directory_entities == 0  # nothing cached yet: nothing read for it
        assert decide(api, "elena", "password.reset", "account:tom")

        reload_with_a_new_policy(api)  # the new engine parses what the resolver holds

        assert engine(api).directory_entities > 0
        assert decide(api, "elena", "password.reset", "account:tom")
        assert engine(api).directory_decisions == 1

        resolver = api.gateway.directory
        assert isinstance(resolver, IdentityResolver)
        resolver.remove_from_group("elena", "helpdesk")  # in Okta, and out of the cache

        assert okta_server.group_names_of(okta_people["elena"]) == set()
        assert not decide(api, "elena", "password.reset", "account:tom")
        assert engine(api).directory_decisions == 1  # the changed facts were parsed anew
    finally:
        api.close()


def test_okta_facts_are_not_loaded_without_the_setting(
    tmp_path: Path, okta_server: OktaServer, okta_people: dict[str, str]
) -> None:
    api = okta_api(tmp_path, okta_server, preload=False)
    try:
        assert decide(api, "elena", "password.reset", "account:tom")

        reload_with_a_new_policy(api)

        assert engine(api).directory_entities == 0
        assert decide(api, "elena", "password.reset", "account:tom")
        assert engine(api).directory_decisions == 0
    finally:
        api.close()
