"""Is the caller of a ticket who they say they are?  Match them to exactly one account."""

from __future__ import annotations

from gateway.errors import IdentityError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.facts import AccountStatus, IdentityFacts

__all__ = ["CallerNotVerifiedError", "verify_caller"]


class CallerNotVerifiedError(IdentityError):
    """The caller matches no account, several accounts, or an account that cannot act."""


def verify_caller(
    directory: DirectoryConnector, *, email: str | None = None, username: str | None = None
) -> IdentityFacts:
    """The one active account the caller's email and/or username names.

    Given both, they must name the same account.  Refused: no match, an ambiguous match
    (two accounts share the email), and disabled or suspended accounts.
    """
    if not email and not username:
        raise CallerNotVerifiedError("caller has neither an email nor a username")
    candidates: dict[str, IdentityFacts] = {}
    for key, value in (("email", email), ("username", username)):
        if not value:
            continue
        matches = directory.find_users(**{key: value})
        if not matches:
            raise CallerNotVerifiedError(f"no account has {key} {value!r}")
        if len(matches) > 1:
            ids = ", ".join(sorted(match.id for match in matches))
            raise CallerNotVerifiedError(f"{key} {value!r} is ambiguous: accounts {ids}")
        candidates[key] = matches[0]
    accounts = {match.id: match for match in candidates.values()}
    if len(accounts) > 1:
        raise CallerNotVerifiedError(
            f"email and username name different accounts: {', '.join(sorted(accounts))}"
        )
    (facts,) = accounts.values()
    if facts.status in (AccountStatus.DISABLED, AccountStatus.SUSPENDED):
        raise CallerNotVerifiedError(f"account {facts.id!r} is {facts.status}")
    return facts
