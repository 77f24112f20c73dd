"""Obligations declared by annotations on Cedar ``permit`` policies.

A permit policy may carry::

    @step_up("max_age=5m")                         step-up verification (TOTP), used once
    @step_up("max_age=5m; reuse=window")           ... counting for every identical request
    @approval("approvers=manager")                 one approval by the target's manager
    @approval_security("approvers=group:security; quorum=2; expires=4h;
                        escalate_after=1h; escalate_to=group:security-leads")

The value is a list of ``key=value`` pairs separated by ``;``.  Any annotation whose key
is ``approval`` or starts with ``approval_`` declares one approval obligation; its key is
the obligation's name.  Durations are whole numbers with an optional unit ``s``, ``m``,
``h`` or ``d`` (seconds when none).  See ``docs/policy-authoring.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from gateway.policy.decision import ApprovalObligation, Obligation, StepUpObligation

__all__ = ["ObligationSyntaxError", "merge_obligations", "parse_obligations"]

_DURATION = re.compile(r"([0-9]+)([smhd]?)")
_WHOLE = re.compile(r"[0-9]+")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}
_APPROVER = re.compile(r"manager|(role|group|user):[A-Za-z0-9_.@-]+")
_STEP_UP_KEYS = frozenset({"max_age", "method", "reuse"})
_REUSE: dict[str, Literal["once", "window"]] = {"once": "once", "window": "window"}
_APPROVAL_KEYS = frozenset({"approvers", "quorum", "expires", "escalate_after", "escalate_to"})


class ObligationSyntaxError(ValueError):
    """An obligation annotation is malformed; the message says which and why."""


def _pairs(annotation: str, value: str, allowed: frozenset[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in value.split(";"):
        if not item.strip():
            continue
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            raise ObligationSyntaxError(
                f"@{annotation}: expected key=value, found {item.strip()!r}"
            )
        if key not in allowed:
            expected = ", ".join(sorted(allowed))
            raise ObligationSyntaxError(f"@{annotation}: unknown key {key!r} (expected {expected})")
        if key in pairs:
            raise ObligationSyntaxError(f"@{annotation}: key {key!r} given twice")
        pairs[key] = raw.strip()
    return pairs


def _seconds(annotation: str, key: str, raw: str) -> int:
    match = _DURATION.fullmatch(raw)
    if match is None or int(match.group(1)) == 0:
        raise ObligationSyntaxError(
            f"@{annotation}: {key} must be a positive duration like 300, 5m, 4h or 2d, "
            f"found {raw!r}"
        )
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _approvers(annotation: str, key: str, raw: str) -> tuple[str, ...]:
    approvers = tuple(part.strip() for part in raw.split(",") if part.strip())
    for approver in approvers:
        if not _APPROVER.fullmatch(approver):
            raise ObligationSyntaxError(
                f"@{annotation}: {key} entries must be manager, role:NAME, group:NAME or "
                f"user:ID, found {approver!r}"
            )
    return approvers


def _step_up(policy_id: str, value: str) -> StepUpObligation:
    pairs = _pairs("step_up", value, _STEP_UP_KEYS)
    method = pairs.get("method", "totp")
    if method != "totp":
        raise ObligationSyntaxError(f"@step_up: method must be totp, found {method!r}")
    max_age = _seconds("step_up", "max_age", pairs["max_age"]) if "max_age" in pairs else 300
    reuse = _REUSE.get(pairs.get("reuse", "once"))
    if reuse is None:
        raise ObligationSyntaxError(
            f"@step_up: reuse must be once or window, found {pairs['reuse']!r}"
        )
    return StepUpObligation(max_age_seconds=max_age, reuse=reuse, policy=policy_id)


def _approval(policy_id: str, name: str, value: str) -> ApprovalObligation:
    pairs = _pairs(name, value, _APPROVAL_KEYS)
    if "approvers" not in pairs:
        raise ObligationSyntaxError(f"@{name}: approvers is required")
    approvers = _approvers(name, "approvers", pairs["approvers"])
    if not approvers:
        raise ObligationSyntaxError(f"@{name}: approvers is empty")
    quorum_raw = pairs.get("quorum", "1")
    if not _WHOLE.fullmatch(quorum_raw) or int(quorum_raw) < 1:
        raise ObligationSyntaxError(
            f"@{name}: quorum must be a whole number >= 1, found {quorum_raw!r}"
        )
    escalate_to = _approvers(name, "escalate_to", pairs.get("escalate_to", ""))
    escalate_after = pairs.get("escalate_after")
    if (escalate_after is None) != (not escalate_to):
        raise ObligationSyntaxError(f"@{name}: escalate_after and escalate_to go together")
    return ApprovalObligation(
        name=name,
        approvers=approvers,
        quorum=int(quorum_raw),
        expires_seconds=_seconds(name, "expires", pairs.get("expires", "24h")),
        escalate_after_seconds=(
            _seconds(name, "escalate_after", escalate_after) if escalate_after is not None else None
        ),
        escalate_to=escalate_to,
        policy=policy_id,
    )


def parse_obligations(policy_id: str, annotations: Mapping[str, str]) -> tuple[Obligation, ...]:
    """The obligations a policy's annotations declare, in annotation order."""
    obligations: list[Obligation] = []
    for key, value in annotations.items():
        if key == "step_up":
            obligations.append(_step_up(policy_id, value))
        elif key == "approval" or key.startswith("approval_"):
            obligations.append(_approval(policy_id, key, value))
    return tuple(obligations)


def merge_obligations(obligations: list[Obligation]) -> tuple[Obligation, ...]:
    """Combine the obligations of every permit that applied: all of them must be met.

    Step-ups collapse into one with the shortest maximum age, used once unless every one
    of them allows reuse within its window; approvals are kept as separate obligations,
    with exact duplicates removed.
    """
    step_ups = [item for item in obligations if isinstance(item, StepUpObligation)]
    merged: list[Obligation] = []
    if step_ups:
        shortest = min(step_ups, key=lambda item: (item.max_age_seconds, item.policy))
        if any(item.reuse == "once" for item in step_ups):
            shortest = shortest.model_copy(update={"reuse": "once"})
        merged.append(shortest)
    seen: set[tuple[object, ...]] = set()
    for item in obligations:
        if isinstance(item, ApprovalObligation):
            signature = (
                item.approvers,
                item.quorum,
                item.expires_seconds,
                item.escalate_after_seconds,
                item.escalate_to,
            )
            if signature not in seen:
                seen.add(signature)
                merged.append(item)
    return tuple(merged)
