"""Verifying that a ticket's caller is who they say they are."""

from __future__ import annotations

import pytest

from gateway.identity.static import StaticDirectory, StaticDirectoryFile
from gateway.identity.verification import CallerNotVerifiedError, verify_caller

DIRECTORY = StaticDirectory(
    StaticDirectoryFile.model_validate(
        {
            "users": {
                "ann": {"email": "ann@example.com"},
                "bob": {"email": "shared@example.com"},
                "bea": {"email": "shared@example.com"},
                "dan": {"email": "dan@example.com", "status": "disabled"},
                "lou": {"email": "lou@example.com", "status": "locked"},
            }
        }
    )
)


def test_a_caller_is_matched_by_email_ignoring_case() -> None:
    assert verify_caller(DIRECTORY, email="Ann@Example.com").id == "ann"


def test_email_and_username_must_name_the_same_account() -> None:
    assert verify_caller(DIRECTORY, email="ann@example.com", username="ann").id == "ann"


def test_a_locked_caller_is_verified_so_that_they_can_recover() -> None:
    assert verify_caller(DIRECTORY, username="lou").id == "lou"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "caller has neither an email nor a username"),
        ({"email": "nobody@example.com"}, "no account has email 'nobody@example.com'"),
        (
            {"email": "shared@example.com"},
            "email 'shared@example.com' is ambiguous: accounts bea, bob",
        ),
        (
            {"email": "ann@example.com", "username": "dan"},
            "email and username name different accounts: ann, dan",
        ),
        ({"username": "dan"}, "account 'dan' is disabled"),
    ],
    ids=[
        "nothing to match on",
        "no such email",
        "two accounts share the email",
        "email and username disagree",
        "a disabled account",
    ],
)
def test_a_caller_who_cannot_be_matched_to_one_active_account_is_refused(
    kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(CallerNotVerifiedError, match=message):
        verify_caller(DIRECTORY, **kwargs)
