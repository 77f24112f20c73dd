"""What a candidate bundle would change: past decisions replayed against it.

    for each decision record of the audit log (since a time, when given)
        not replayable ....... the gateway refused it without the policies (unknown actor,
                               stale facts, forged context), its fields were erased, or
                               the facts it records cannot be read (erased, sealed, malformed):
                               counted by why, never guessed
        replay ............... the same request (actor, action, resource, the context the
                               engines saw) decided by the candidate on the facts the record
                               keeps (``payload["facts"]``, ``recorded_facts``); a record
                               written before records kept facts is decided on the
                               directory's facts as they are now, and marked ``current``
        change ............... allow -> deny, deny -> allow, obligations added or dropped

Equal requests (same actor, action, resource, context and recorded facts) are decided
once: the report gives the distinct count.  Changes are grouped by action and kind, with
counts, a few examples and the policies deciding on both sides.  An expectation file
declares the changes a reviewer intends::

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
from gateway.policy.recorded_facts import read_recorded_facts
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


Basis = Literal["recorded", "current"]
_CURRENT = "replayed against current facts"
_NO_FACTS = object()  # a record written before decision records kept their facts
# Resources whose facts the gateway builds itself (an approval request's requester, target
# and change), not read from the directory: without recorded facts they cannot be replayed.
_GATEWAY_FACTS = frozenset({"approval"})


@dataclass
class ImpactReport:
    replayed: int = 0
    distinct_requests: int = 0
    not_replayable: int = 0
    not_replayable_why: dict[str, int] = field(default_factory=dict)
    on_recorded_facts: int = 0  # replayed on the facts their record keeps
    on_current_facts: int = 0  # older records: replayed against current facts
    groups: list[ChangeGroup] = field(default_factory=list)

    @property
    def facts(self) -> str:
        """The facts replays were decided on: ``recorded``, ``current``, ``mixed``."""
        if self.on_current_facts and self.on_recorded_facts:
            return "mixed"
        return "current" if self.on_current_facts else "recorded"

    @property
    def undeclared(self) -> list[ChangeGroup]:
        return [group for group in self.groups if not group.declared]

    def as_json(self) -> dict[str, object]:
        return {
            **{name: value for name, value in vars(self).items() if name != "groups"},
            "facts": self.facts,
            "groups": [vars(group) for group in self.groups],
            "undeclared": len(self.undeclared),
        }

    def _skip(self, why: str) -> None:
        self.not_replayable += 1
        self.not_replayable_why[why] = self.not_replayable_why.get(why, 0) + 1


def _policies(reasons: Iterable[dict[str, object]]) -> list[str]:
    return sorted(
        {str(r["policy"]) for r in reasons if r.get("engine") == "cedar" and r.get("policy")}
    )


def _unreplayable(record: AuditRecord) -> str | None:
    """Why ``record`` cannot be replayed before reading its request, or ``None``."""
    if record.redacted:
        return "fields erased"
    for reason in record.payload.get("reasons", ()):
        if reason.get("engine") == "gateway" and reason.get("effect") == "error":
            return "refused by the gateway"
    return None


def _request(record: AuditRecord) -> AccessRequest | None:
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
    if old == new:
        return []
    changes: list[Change] = []
    if any(new.count(kind) > old.count(kind) for kind in set(new)):
        changes.append("obligations_added")
    if any(old.count(kind) > new.count(kind) for kind in set(old)):
        changes.append("obligations_dropped")
    return changes


@dataclass
class _Replayer:
    """Decides each distinct request once, on the recorded facts or the current ones."""

    pdp: PolicyDecisionPoint
    directory: DirectoryConnector
    decided: dict[tuple[object, ...], tuple[Decision, Basis] | str] = field(default_factory=dict)

    def replay(self, record: AuditRecord) -> tuple[Decision, Basis] | str:
        payload = record.payload
        facts = payload.get("facts", _NO_FACTS)
        # ``repr`` of the JSON values: records read from the log hold their keys in the
        # canonical (sorted) order, so equal requests give equal keys; two orderings of one
        # value would only be decided twice.
        key = (
            record.actor,
            record.action,
            record.resource,
            repr(payload.get("context", {})),
            facts if facts is _NO_FACTS else repr(facts),
        )
        known = self.decided.get(key)
        if known is None:
            known = self.decided[key] = self._decide(record, facts)
        return known

    def _decide(self, record: AuditRecord, facts: object) -> tuple[Decision, Basis] | str:
        request = _request(record)
        if request is None:
            return "malformed request"
        ref = request.resource
        if facts is _NO_FACTS:
            if ref.type in _GATEWAY_FACTS:
                return "facts not kept, and not the directory's"
            try:
                actor = self.directory.get_user(request.actor)
            except UnknownActorError:
                return "actor no longer in the directory"
            resource = self.directory.get_resource(ref.type, ref.id)
            return self.pdp.decide(request, actor, resource), "current"
        recorded = read_recorded_facts(facts, ref.type, ref.id)
        if recorded is None:
            return "facts unreadable or erased"
        return self.pdp.decide(request, *recorded), "recorded"


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
    replayer = _Replayer(PolicyDecisionPoint(lambda: candidate), directory)
    report = ImpactReport()
    groups: dict[tuple[str, str], ChangeGroup] = {}
    for record in records:
        if record.type != "decision" or (since is not None and record.time < since):
            continue
        why = _unreplayable(record)
        replayed = replayer.replay(record) if why is None else why
        if isinstance(replayed, str):
            report._skip(replayed)
            continue
        decision, basis = replayed
        report.replayed += 1
        if basis == "recorded":
            report.on_recorded_facts += 1
        else:
            report.on_current_facts += 1
        for change in _changes(record, decision):
            action = decision.request.action
            group = groups.setdefault((action, change), ChangeGroup(action, change))
            group.count += 1
            if len(group.examples) < MAX_EXAMPLES:
                group.examples.append(
                    {"seq": record.seq, "time": record.time, "actor": record.actor,
                     "resource": record.resource, "facts": basis}
                )  # fmt: skip
            for name in _policies(record.payload.get("reasons", [])):
                if name not in group.before:
                    group.before.append(name)
            for reason in decision.reasons:
                if reason.engine == "cedar" and reason.policy and reason.policy not in group.after:
                    group.after.append(reason.policy)
    report.distinct_requests = sum(not isinstance(v, str) for v in replayer.decided.values())
    for group in groups.values():
        group.declared = expectations is not None and expectations.declares(
            group.action, group.change
        )
    report.groups = sorted(groups.values(), key=lambda g: (g.action, g.change))
    return report


def _basis(report: ImpactReport) -> str:
    if report.facts == "recorded":
        return "on the facts each record keeps"
    if report.facts == "current":
        return "all replayed against current facts: the records keep no facts"
    return f"{report.on_current_facts} older ones replayed against current facts"


def markdown(report: ImpactReport, candidate: str) -> str:
    """The report as a pull-request comment."""
    lines = [
        f"### Policy impact of `{candidate}`",
        "",
        f"{report.replayed} past decisions replayed ({report.distinct_requests} distinct "
        f"requests, {_basis(report)}); {report.not_replayable} not replayable"
        f"{_why(report)}.",
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
            f"#{e['seq']} {e['actor']} on {e['resource']} ({e['time']}{_marked(e)})"
            for e in g.examples
        )
        lines.append(f"- `{g.action}` {g.change.replace('_', ' ')}: {examples}")
    return "\n".join(lines) + "\n"


def _why(report: ImpactReport) -> str:
    if not report.not_replayable_why:
        return ""
    counts = ", ".join(
        f"{why}: {count}" for why, count in sorted(report.not_replayable_why.items())
    )
    return f" ({counts})"


def _marked(example: dict[str, object]) -> str:
    return ", " + _CURRENT if example.get("facts") == "current" else ""
