"""Which source changes a password the acting source does not own, and what is recorded."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from gateway.errors import DirectoryActionError
from gateway.identity.directory import ActionResult, PasswordElsewhereError
from gateway.identity.facts import IdentityFacts
from gateway.identity.resolver import IdentityResolver
from tests.identity.directories import ActingDirectory

PASSWORD = SecretStr("Another-Start-7")


@dataclass
class HandsBack(ActingDirectory):
    """A source holding accounts whose passwords another directory owns (like Okta's
    Active Directory-mastered users)."""

    owner: str = "corp.example.test"

    def reset_password(
        self, user_id: str, new_password: SecretStr, *, must_change: bool = True
    ) -> ActionResult:
        raise PasswordElsewhereError(
            "reset_password", user_id, source=self.name, flavor="active_directory",
            directory=self.owner,
        )  # fmt: skip


@dataclass
class Ldap(ActingDirectory):
    flavor: str = "active_directory"


def sources(owner: str = "corp.example.test") -> tuple[HandsBack, Ldap, Ldap, Ldap]:
    return (
        HandsBack("okta", {"ann": {}}, owner=owner),
        Ldap("corp.example.test", {"ann": {}}),
        Ldap("emea.example.test", {"ann": {}}),
        Ldap("openldap", {"ann": {}}, flavor="openldap"),
    )


def test_among_several_directories_the_one_the_source_names_acts() -> None:
    okta, corp, emea, openldap = sources()
    resolver = IdentityResolver([okta, corp, emea, openldap])

    result = resolver.reset_password("ann", PASSWORD)

    assert (result.acted_in, corp.changes, emea.changes, openldap.changes) == (
        "corp.example.test",
        ["reset ann"],
        [],
        [],
    )
    assert result.routing == (
        "okta reports that the password of ann is owned by Active Directory "
        "'corp.example.test'; routed to corp.example.test"
    )


def test_among_several_directories_none_of_which_is_named_none_is_guessed() -> None:
    okta, corp, emea, openldap = sources(owner="apac.example.test")
    resolver = IdentityResolver([okta, corp, emea, openldap])

    with pytest.raises(DirectoryActionError) as caught:
        resolver.reset_password("ann", PASSWORD)

    assert str(caught.value) == (
        "reset_password 'ann' refused: okta reports that the password of ann is owned by "
        "Active Directory 'apac.example.test', and none of the 2 LDAP sources of flavor "
        "'active_directory' is named 'apac.example.test'"
    )
    assert corp.changes == emea.changes == openldap.changes == []


def test_a_change_the_acting_source_owns_names_it_without_a_routing() -> None:
    okta, corp, _, _ = sources()
    resolver = IdentityResolver([okta, corp])

    result = resolver.unlock_account("ann")

    assert result == ActionResult(True, "unlock", acted_in="okta")
    assert corp.changes == []


@dataclass
class Noting(ActingDirectory):
    """A source that says why it has no manager for anyone."""

    def get_user(self, user_id: str) -> IdentityFacts:
        facts = super().get_user(user_id)
        return facts.model_copy(update={"notes": {"manager": "no manager on record: why"}})


def test_why_a_fact_is_missing_survives_the_merge_until_a_source_has_it() -> None:
    okta, corp = Noting("okta", {"ann": {}}), Ldap("corp.example.test", {"ann": {}})
    resolver = IdentityResolver([okta, corp])

    assert resolver.get_user("ann").notes == {"manager": "no manager on record: why"}

    corp.users["ann"] = {"manager": "bob"}
    resolver.forget("ann")
    assert (resolver.get_user("ann").manager, resolver.get_user("ann").notes) == ("bob", {})
