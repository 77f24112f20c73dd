"""Merging identity facts from several sources: freshness, conflicts and outages."""

from __future__ import annotations

import pytest

from gateway.errors import DirectoryUnavailableError, UnknownActorError
from gateway.identity.facts import AccountStatus
from gateway.identity.resolver import Conflict, IdentityResolver, ResolverSettings
from tests.identity.directories import NOW, Directory, SiteDirectory


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def resolver(
    *sources: Directory, clock: Clock | None = None, **settings: float
) -> tuple[IdentityResolver, list[Conflict]]:
    conflicts: list[Conflict] = []
    return (
        IdentityResolver(
            sources=list(sources),
            settings=ResolverSettings(**settings),  # type: ignore[arg-type]
            privileged_groups=frozenset({"admins"}),
            on_conflict=conflicts.append,
            clock=clock or Clock(),
            wall_clock=lambda: NOW,
        ),
        conflicts,
    )


def test_facts_are_served_from_cache_while_fresh_then_read_again() -> None:
    ldap = Directory("ldap", {"ann": {"department": "Sales"}})
    clock = Clock()
    identity, _ = resolver(ldap, clock=clock, ttl_seconds=60)

    identity.get_user("ann")
    identity.get_user("ann")
    clock.now += 61
    identity.get_user("ann")

    assert ldap.calls == 2
    assert identity.calls == 2


def test_the_most_restrictive_status_wins_and_the_conflict_is_reported() -> None:
    ldap = Directory("ldap", {"ann": {"status": "active", "department": "Sales"}})
    okta = Directory("okta", {"ann": {"status": "disabled", "department": "Marketing"}})
    identity, conflicts = resolver(ldap, okta)

    facts = identity.get_user("ann")

    assert facts.status is AccountStatus.DISABLED
    assert facts.department == "Sales", "other facts come from the first source with a value"
    assert facts.source == "ldap+okta"
    assert facts.fact_sources["department"] == "ldap"
    assert (
        Conflict("ann", "status", {"ldap": "active", "okta": "disabled"}, "disabled") in conflicts
    )
    assert (
        Conflict("ann", "department", {"ldap": "Sales", "okta": "Marketing"}, "Sales") in conflicts
    )


def test_privileged_membership_only_counts_from_the_authoritative_source() -> None:
    ldap = Directory("ldap", {"ann": {"groups": ["staff"]}})
    okta = Directory("okta", {"ann": {"groups": ["staff", "admins", "okta-only"]}})
    identity, conflicts = resolver(ldap, okta)

    facts = identity.get_user("ann")

    assert facts.groups == frozenset({"staff", "okta-only"})
    assert facts.privileged is False
    assert Conflict("ann", "privileged_groups", {"ldap": "", "okta": "admins"}, "") in conflicts


def test_the_authoritative_source_can_grant_privilege() -> None:
    ldap = Directory("ldap", {"ann": {"groups": ["admins"]}})
    okta = Directory("okta", {"ann": {"groups": ["staff"], "mfa": ["totp"]}})
    identity, _ = resolver(ldap, okta)

    facts = identity.get_user("ann")

    assert facts.privileged is True
    assert facts.groups == frozenset({"admins", "staff"})
    assert facts.mfa_factors == ("totp",), "facts only one source knows are kept"


def test_a_user_known_to_no_source_is_unknown() -> None:
    identity, _ = resolver(Directory("ldap", {}), Directory("okta", {}))

    with pytest.raises(UnknownActorError, match="unknown user 'ghost'"):
        identity.get_user("ghost")


def test_a_user_known_to_one_source_only_keeps_its_facts() -> None:
    identity, conflicts = resolver(
        Directory("ldap", {}), Directory("okta", {"bob": {"title": "CFO"}})
    )

    facts = identity.get_user("bob")

    assert (facts.title, facts.source) == ("CFO", "okta")
    assert conflicts == []


def test_when_a_source_is_down_cached_facts_are_served_marked_stale() -> None:
    ldap = Directory("ldap", {"ann": {"department": "Sales"}})
    clock = Clock()
    identity, _ = resolver(ldap, clock=clock, ttl_seconds=60, max_stale_seconds=600)
    identity.get_user("ann")
    ldap.down = True
    clock.now += 120

    facts = identity.get_user("ann")

    assert facts.stale_since == NOW
    assert facts.department == "Sales"


def test_stale_facts_older_than_the_limit_are_not_served() -> None:
    ldap = Directory("ldap", {"ann": {}})
    clock = Clock()
    identity, _ = resolver(ldap, clock=clock, ttl_seconds=60, max_stale_seconds=600)
    identity.get_user("ann")
    ldap.down = True
    clock.now += 601

    with pytest.raises(
        DirectoryUnavailableError, match="directory unavailable for 'ann': ldap: connection refused"
    ):
        identity.get_user("ann")


def test_without_cached_facts_an_outage_is_an_error() -> None:
    identity, _ = resolver(Directory("ldap", {"ann": {}}, down=True))

    with pytest.raises(DirectoryUnavailableError):
        identity.get_user("ann")


def test_a_failing_source_is_left_alone_during_the_cooldown_then_tried_again() -> None:
    ldap = Directory("ldap", {"ann": {}}, down=True)
    clock = Clock()
    identity, _ = resolver(ldap, clock=clock, failure_threshold=2, cooldown_seconds=30)

    for _ in range(5):
        with pytest.raises(DirectoryUnavailableError):
            identity.get_user("ann")
    assert ldap.calls == 2, "the circuit opened after two failures"

    ldap.down = False
    clock.now += 31
    assert identity.get_user("ann").id == "ann"
    assert ldap.calls == 3


def test_the_cache_is_bounded() -> None:
    ldap = Directory("ldap", {"a": {}, "b": {}, "c": {}})
    identity, _ = resolver(ldap, max_entries=2)

    for user in ("a", "b", "c", "a"):
        identity.get_user(user)

    assert ldap.calls == 4, "a was evicted when c came in"


def test_forgetting_a_user_reads_it_again() -> None:
    ldap = Directory("ldap", {"ann": {}})
    identity, _ = resolver(ldap)
    identity.get_user("ann")

    identity.forget("ann")
    identity.get_user("ann")

    assert ldap.calls == 2


def test_accounts_are_built_from_the_merged_facts_and_other_resources_from_the_sources() -> None:
    ldap = Directory("ldap", {"ann": {"status": "active"}})
    okta = Directory(
        "okta", {"ann": {"status": "locked"}}, resources={"software:visio": {"approved": True}}
    )
    identity, _ = resolver(ldap, okta)

    account = identity.get_resource("account", "ann")
    visio = identity.get_resource("software", "visio")

    assert account is not None
    assert account.attributes["status"] == "locked"
    assert identity.get_resource("account", "ghost") is None
    assert visio is not None
    assert visio.attributes == {"approved": True}
    assert identity.get_resource("software", "nope") is None


def test_find_users_merges_matches_from_every_source() -> None:
    ldap = Directory("ldap", {"ann": {"email": "ann@example.com"}})
    okta = Directory(
        "okta", {"ann": {"email": "ann@example.com"}, "bob": {"email": "bob@example.com"}}
    )
    identity, _ = resolver(ldap, okta)

    assert [f.id for f in identity.find_users(email="ANN@example.com")] == ["ann"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sources": []}, "needs at least one source"),
        ({"sources": "twice"}, "names must be unique"),
        ({"authoritative": "okta"}, "authoritative source 'okta' is not one of"),
    ],
    ids=["no sources", "two sources with one name", "an authoritative source that is not there"],
)
def test_a_misconfigured_resolver_is_refused(kwargs: dict[str, object], message: str) -> None:
    ldap = Directory("ldap", {})
    if kwargs.get("sources") == "twice":
        kwargs = {"sources": [ldap, ldap]}
    with pytest.raises(ValueError, match=message):
        IdentityResolver(**{"sources": [ldap], **kwargs})  # type: ignore[arg-type]


def test_another_source_can_be_named_authoritative() -> None:
    ldap = Directory("ldap", {"ann": {"groups": ["admins"]}})
    okta = Directory("okta", {"ann": {"groups": ["staff"]}})
    identity = IdentityResolver(
        sources=[ldap, okta], authoritative="okta", privileged_groups=frozenset({"admins"})
    )

    facts = identity.get_user("ann")

    assert facts.privileged is False
    assert facts.groups == frozenset({"staff"})


def test_resources_come_from_a_source_that_answers_during_an_outage() -> None:
    ldap = Directory("ldap", {}, down=True)
    okta = Directory("okta", {}, resources={"software:visio": {"approved": True}})
    identity, _ = resolver(ldap, okta)

    visio = identity.get_resource("software", "visio")

    assert visio is not None
    assert visio.attributes == {"approved": True}


def test_resources_cannot_be_read_when_every_source_is_down() -> None:
    identity, _ = resolver(Directory("ldap", {}, down=True))

    with pytest.raises(DirectoryUnavailableError, match="directory unavailable for software:visio"):
        identity.get_resource("software", "visio")


def test_changes_go_to_the_authoritative_source_and_are_seen_at_once() -> None:
    from pydantic import SecretStr

    from tests.identity.directories import ActingDirectory

    okta = ActingDirectory("okta", {"ann": {"status": "locked", "groups": ["staff"]}})
    static = Directory("static", {"ann": {"status": "locked"}})
    identity, _ = resolver(okta, static, ttl_seconds=3600)
    assert identity.get_user("ann").status is AccountStatus.LOCKED

    static.users["ann"] = {"status": "active"}
    results = [
        identity.unlock_account("ann"),
        identity.add_to_group("ann", "vpn"),
        identity.remove_from_group("ann", "staff"),
        identity.set_enabled("ann", True),
        identity.reset_password("ann", SecretStr("N3w-pass!"), must_change=False),
    ]

    facts = identity.get_user("ann")
    assert all(result.changed for result in results)
    assert okta.changes == [
        "unlock ann",
        "add vpn ann",
        "remove staff ann",
        "enable ann",
        "reset ann",
    ]
    assert facts.status is AccountStatus.ACTIVE, "cached facts were dropped after the change"
    assert facts.groups == frozenset({"vpn"})


def test_a_resolver_without_a_source_that_can_act_refuses_changes() -> None:
    from gateway.errors import DirectoryActionError

    identity, _ = resolver(Directory("ldap", {"ann": {}}))

    with pytest.raises(DirectoryActionError, match="no identity source can change the directory"):
        identity.unlock_account("ann")


class ClosingDirectory(Directory):
    closed: bool = False

    def close(self) -> None:
        self.closed = True


def test_closing_the_resolver_closes_the_sources_that_hold_connections() -> None:
    ldap = ClosingDirectory("ldap", {"ann": {}})
    static = Directory("static", {"ann": {}})
    merged, _ = resolver(ldap, static)

    merged.close()

    assert ldap.closed is True


def test_the_people_of_a_site_are_listed_by_the_sources_that_can_and_merged() -> None:
    ldap = SiteDirectory(
        "ldap",
        {"ann": {"location": "branch-7", "department": "Sales"}, "bob": {"location": "HQ"}},
    )
    okta = Directory("okta", {"ann": {"status": "locked"}, "cy": {"location": "branch-7"}})
    identity, _ = resolver(ldap, okta)

    people = identity.users_at("branch-7")

    assert [(facts.id, facts.status, facts.department) for facts in people] == [
        ("ann", AccountStatus.LOCKED, "Sales"),  # the more restrictive status wins
    ]  # okta cannot list a site: cy is not found, bob is elsewhere
