"""What a candidate bundle would change: past decisions replayed against it.

    for each decision record of the audit log (since a time, when given)
        not replayable ....... the gateway refused it without the policies (unknown actor,
                               stale facts, forged context), or its fields were erased
        replay ............... the same request (actor, action, resource, the context the
                               engines saw) decided by the candidate, with the directory's
                               facts as they are now (records do not carry the facts they
                               were decided on: every replay is marked ``current facts``)
        change ............... allow -> deny, deny -> allow, obligations added or dropped

Equal requests are decided once (the report gives the distinct count).  Changes are grouped
by action and kind, with counts, a few examples and the policies deciding on both sides.  An
expectation file declares the changes a reviewer intends::

    expected:
      - {action: password.reset, change: allow_to_deny}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.audit.records import AuditRecord
from gateway.definitions import DefinitionKind, load_definition
from gateway.errors import UnknownActorError
from gateway.identity.directory import DirectoryConnector
from gateway.policy.decision import Decision
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.engine import PolicyEngine
from gateway.policy.request import AccessRequest

__all__ = [
    "ChangeGroup",
    "Expectations",
    "ImpactReport",
    "analyse_impact",
    "load_expectations",
    "markdown",
]

Change = Literal["allow_to_deny", "deny_to_allow", "obligations_added", "obligations_dropped"]
MAX_EXAMPLES = 3


class ExpectedChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    action: str
    change: Change


class Expectations(BaseModel):
    """The changes a reviewer declares as intended."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    expected: list[ExpectedChange] = Field(default=[])

    def declares(self, action: str, change: str) -> bool:
        return any(item.action == action and item.change == change for item in self.expected)


def load_expectations(path: Path) -> Expectations:
    return load_definition(path, Expectations, DefinitionKind("expectation file", "files"))[0]


@dataclass
class ChangeGroup:
    action: str
    change: Change
    count: int = 0
    examples: list[dict[str, object]] = field(default_factory=list)
    before: list[str] = field(default_factory=list)  # policies deciding in the log
    after: list[str] = field(default_factory=list)  # policies deciding with the candidate
    declared: bool = False


@dataclass
class ImpactReport:
    replayed: int = 0
    distinct_requests: int = 0
    not_replayable: int = 0
    facts: str = "current"  # the facts replays were decided on
    groups: list[ChangeGroup] = field(default_factory=list)

    @property
    def undeclared(self) -> list[ChangeGroup]:
        return [group for group in self.groups if not group.declared]


def _policies(reasons: Iterable[dict[str, object]]) -> list[str]:
    return sorted(
        {str(r["policy"]) for r in reasons if r.get("engine") == "cedar" and r.get("policy")}
    )


def _request(record: AuditRecord) -> AccessRequest | None:
    reasons = record.payload.get("reasons", [])
    if record.redacted or any(
        r.get("engine") == "gateway" and r.get("effect") == "error" for r in reasons
    ):
        return None
    try:
        return AccessRequest.model_validate(
            {
                "actor": record.actor,
                "action": record.action,
                "resource": record.resource,
                "context": record.payload.get("context", {}),
            }
        )
    except ValidationError:
        return None


def _changes(record: AuditRecord, decision: Decision) -> list[Change]:
    before = record.payload.get("decision")
    after = str(decision.decision)
    if before == "allow" and after == "deny":
        return ["allow_to_deny"]
    if before == "deny" and after == "allow":
        return ["deny_to_allow"]
    if after != "allow":
        return []
    old = sorted(str(item.get("type")) for item in record.payload.get("obligations", []))
    new: list[str] = sorted(item.type for item in decision.obligations)
    changes: list[Change] = []
    if any(new.count(kind) > old.count(kind) for kind in set(new)):
        changes.append("obligations_added")
    if any(old.count(kind) > new.count(kind) for kind in set(old)):
        changes.append("obligations_dropped")
    return changes


def analyse_impact(
    records: Iterable[AuditRecord],
    candidate: PolicyEngine,
    directory: DirectoryConnector,
    *,
    since: str | None = None,
    expectations: Expectations | None = None,
) -> ImpactReport:
    """Replay the decision records (at or after ``since``, an audit time string) against
    ``candidate`` and group what would change."""
    pdp = PolicyDecisionPoint(lambda: candidate)
    report = ImpactReport()
    decided: dict[str, Decision] = {}
    groups: dict[tuple[str, str], ChangeGroup] = {}
    for record in records:
        if record.type != "decision" or (since is not None and record.time < since):
            continue
        request = _request(record)
        if request is None:
            report.not_replayable += 1
            continue
        key = request.model_dump_json()
        decision = decided.get(key)
        if decision is None:
            decision = _decide(pdp, directory, request)
            decided[key] = decision
        report.replayed += 1
        for change in _changes(record, decision):
            group = groups.setdefault((request.action, change), ChangeGroup(request.action, change))
            group.count += 1
            if len(group.examples) < MAX_EXAMPLES:
                group.examples.append(
                    {"seq": record.seq, "time": record.time, "actor": record.actor,
                     "resource": record.resource}
                )  # fmt: skip
            for name in _policies(record.payload.get("reasons", [])):
                if name not in group.before:
                    group.before.append(name)
            for reason in decision.reasons:
                if reason.engine == "cedar" and reason.policy and reason.policy not in group.after:
                    group.after.append(reason.policy)
    report.distinct_requests = len(decided)
    for group in groups.values():
        group.declared = expectations is not None and expectations.declares(
            group.action, group.change
        )
    report.groups = sorted(groups.values(), key=lambda g: (g.action, g.change))
    return report


def _decide(
    pdp: PolicyDecisionPoint, directory: DirectoryConnector, request: AccessRequest
) -> Decision:
    try:
        actor = directory.get_user(request.actor)
    except UnknownActorError:
        actor = None
    resource = directory.get_resource(request.resource.type, request.resource.id)
    return pdp.decide(request, actor, resource)


def markdown(report: ImpactReport, candidate: str) -> str:
    """The report as a pull-request comment."""
    lines = [
        f"### Policy impact of `{candidate}`",
        "",
        f"{report.replayed} past decisions replayed ({report.distinct_requests} distinct "
        f"requests, on current directory facts); {report.not_replayable} not replayable.",
        "",
    ]
    if not report.groups:
        return "\n".join([*lines, "No decision would change."]) + "\n"
    lines += ["| action | change | count | policies before | policies after | declared |",
              "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for g in report.groups:
        lines.append(
            f"| `{g.action}` | {g.change.replace('_', ' ')} | {g.count} | "
            f"{', '.join(g.before) or '-'} | {', '.join(g.after) or '-'} | "
            f"{'yes' if g.declared else '**no**'} |"
        )
    lines.append("")
    for g in report.groups:
        examples = "; ".join(
            f"#{e['seq']} {e['actor']} on {e['resource']} ({e['time']})" for e in g.examples
        )
        lines.append(f"- `{g.action}` {g.change.replace('_', ' ')}: {examples}")
    return "\n".join(lines) + "\n"
