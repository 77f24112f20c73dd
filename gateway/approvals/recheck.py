"""Before an approved action runs: do the approvals given still satisfy what policy asks now?

The decision is made again with current facts and the bundle in force; its approval
obligations must each be met by approvers who voted for the request and who are, today,
still eligible (same rules as a vote: not the requester or the target, an active account,
named by the obligation, with ``manager`` meaning the target's manager as the directory
says now).  A policy that now asks for more, an approver who lost the group or role, or a
manager who changed all make the old approval insufficient.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.approvals.eligibility import RoleResolver, matches
from gateway.approvals.model import ApprovalRequest, Verdict
from gateway.errors import UnknownActorError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.facts import AccountStatus, IdentityFacts
from gateway.policy.decision import ApprovalObligation

__all__ = ["shortfall"]


def _person(directory: DirectoryConnector, user_id: str) -> IdentityFacts | None:
    try:
        return directory.get_user(user_id)
    except UnknownActorError:
        return None


def shortfall(
    item: ApprovalRequest,
    obligations: Sequence[ApprovalObligation],
    directory: DirectoryConnector,
    roles: RoleResolver,
) -> str | None:
    """Why the approvals of ``item`` do not meet ``obligations`` today, or ``None``."""
    owner = _person(directory, item.target or item.requester)
    manager = owner.manager if owner is not None else None
    voters = sorted({vote.approver for vote in item.votes if vote.verdict is Verdict.APPROVE})
    excluded = {item.requester, item.request.actor, item.target}
    people = [
        person
        for voter in voters
        if voter not in excluded
        for person in [_person(directory, voter)]
        if person is not None and person.status is AccountStatus.ACTIVE
    ]
    for obligation in obligations:
        specs = (*obligation.approvers, *obligation.escalate_to)
        counted = [p.id for p in people if any(matches(s, p, manager, roles) for s in specs)]
        if len(counted) < obligation.quorum:
            return (
                f"{obligation.name} of {obligation.policy} needs {obligation.quorum} of "
                f"[{', '.join(specs)}]; approvals that still count: [{', '.join(counted)}]"
            )
    return None
