"""What a directory lists for the policy engine to parse once: the embedded file all of
its facts, a resolver only the users it holds in its cache (no source is asked)."""

from __future__ import annotations

from gateway.identity.directory import ListedDirectory
from gateway.identity.resolver import IdentityResolver
from gateway.identity.static import StaticDirectory, StaticDirectoryFile
from tests.identity.directories import Directory

FILE = StaticDirectoryFile.model_validate(
    {
        "groups": {"helpdesk": {"member_of": ["staff"]}},
        "users": {"elena": {"groups": ["helpdesk"]}, "tom": {}},
        "resources": {
            "software:visio": {"approved": True},
            "account:ghost": {"note": "accounts come from users"},
        },
    }
)


def test_the_embedded_directory_lists_every_user_account_and_resource() -> None:
    directory = StaticDirectory(FILE)
    assert isinstance(directory, ListedDirectory)

    listing = directory.listing()

    assert listing.users == (directory.get_user("elena"), directory.get_user("tom"))
    assert listing.resources == (
        ("account", "elena", directory.get_resource("account", "elena")),
        ("account", "tom", directory.get_resource("account", "tom")),
        ("software", "visio", directory.get_resource("software", "visio")),
    )


def test_a_resolver_lists_only_the_users_in_its_cache_without_asking_a_source() -> None:
    okta = Directory("okta", {"elena": {"groups": ["helpdesk"]}, "tom": {}})
    resolver = IdentityResolver(sources=[okta])
    assert resolver.listing().users == ()

    elena = resolver.get_user("elena")
    calls = okta.calls
    listing = resolver.listing()

    assert okta.calls == calls
    assert listing.users == (elena,)
    assert listing.resources == (("account", "elena", resolver.get_resource("account", "elena")),)
