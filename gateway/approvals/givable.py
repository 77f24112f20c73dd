"""Whether anybody can give an approval, decided when the request is opened.

An obligation can be given when its approver specs name at least ``quorum`` distinct
people who could vote: ``user:ID`` and ``manager`` (the manager recorded on the request)
count when the person is in the directory, active, and neither the requester, the
request's actor nor the target.  Members of a ``group:`` or ``role:`` cannot be listed
through every directory, so such a spec counts as possibly someone: the vote decides.
An obligation nobody can give is escalated at once when its ``escalate_to`` can give it,
else the request is refused (``NoApproverError``) instead of waiting until it expires.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.approvals.errors import NoApproverError
from gateway.approvals.model import ApprovalRequest
from gateway.errors import UnknownActorError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.facts import AccountStatus

__all__ = ["can_be_given", "escalations", "named_people", "why_nobody"]


def named_people(item: ApprovalRequest, specs: Sequence[str]) -> tuple[str, ...]:
    """The people ``specs`` name directly (``manager`` resolved, ``user:`` stripped), in
    order; an unresolved ``manager`` and group or role specs name nobody here."""
    people: list[str] = []
    for spec in specs:
        kind, _, name = spec.partition(":")
        if spec == "manager":
            if item.manager is not None:
                people.append(item.manager)
        elif kind == "user" and name:
            people.append(name)
    return tuple(dict.fromkeys(people))


def can_be_given(
    item: ApprovalRequest, specs: Sequence[str], quorum: int, directory: DirectoryConnector
) -> bool:
    """Whether ``quorum`` distinct people among ``specs`` could approve ``item``."""
    if any(spec.partition(":")[0] in ("group", "role") for spec in specs):
        return True  # members cannot be listed everywhere: possibly someone
    excluded = {item.requester, item.request.actor, item.target}
    able = 0
    for person_id in named_people(item, specs):
        if person_id in excluded:
            continue
        try:
            person = directory.get_user(person_id)
        except UnknownActorError:
            continue
        able += person.status is AccountStatus.ACTIVE
    return able >= quorum


def why_nobody(item: ApprovalRequest, specs: Sequence[str], quorum: int) -> str:
    """Why ``specs`` give nobody who can approve ``item``, in a few words."""
    owner = item.target if item.target is not None else item.requester
    detail = f"; {owner} has no manager" if "manager" in specs and item.manager is None else ""
    return f"needs {quorum} of [{', '.join(specs)}] and nobody among them can approve{detail}"


def escalations(item: ApprovalRequest, directory: DirectoryConnector) -> dict[int, str]:
    """The obligations of ``item`` nobody can give but whose escalation somebody can, by
    index, with why; ``NoApproverError`` for the first one that neither can give."""
    found: dict[int, str] = {}
    for index, obligation in enumerate(item.obligations):
        quorum = obligation.quorum
        if can_be_given(item, obligation.approvers, quorum, directory):
            continue
        why = why_nobody(item, obligation.approvers, quorum)
        if not can_be_given(item, obligation.escalate_to, quorum, directory):
            request = item.request
            name = f"{obligation.name} of {obligation.policy}"
            raise NoApproverError(request.action, str(request.resource), name, why)
        found[index] = why
    return found
