"""Automatic approval as policy: the on-call technician's own standard change skips people,
a forbid always wins, everything is in the audit log, and asking twice changes nothing."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.approvals import ApprovalRequest, ApprovalService, ApprovalState, ApprovalStore
from gateway.approvals.auto import AutoApprover, approval_facts, auto_request
from gateway.approvals.model import AutoApproval
from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog, read_lines
from gateway.audit.records import AuditEvent, AuditRecord, parse_record
from gateway.audit.verify import verify_records
from gateway.enforcement.point import decision_event
from gateway.identity.facts import ResourceFacts
from gateway.policy.bundle import load_bundle
from gateway.policy.decision import ApprovalObligation, Decision
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.engine import PolicyEngine
from gateway.policy.request import AccessRequest
from tests.approvals import POLICIES, START, FakeClock, engine, failing_sink
from tests.identity.directories import Directory

AUTO_POLICY = "approval-auto-oncall-standard-change"


def people() -> dict[str, dict[str, object]]:
    return {
        "otto": {"groups": ["staff", "field-technicians", "oncall"], "manager": "mia"},
        "tara": {"groups": ["staff", "field-technicians"], "manager": "mia"},
        "ines": {"groups": ["staff", "it-admins", "oncall"], "manager": "mia"},
        "mia": {"groups": ["staff"]},
        "alice": {"groups": ["staff"], "manager": "carol"},
        "carol": {"groups": ["staff"]},
        "root": {"groups": ["admins"], "manager": "mia"},
    }


@dataclass
class World:
    """The shipped bundle, a directory the test controls, a signed audit log and a clock."""

    root: Path
    policies: PolicyEngine = field(default_factory=engine)
    clock: FakeClock = field(default_factory=FakeClock)
    signer: Signer = field(default_factory=Signer.generate)
    directory: Directory = field(
        default_factory=lambda: Directory(
            "ldap", people(), {"software:visio": {"approved": True, "licensed": True}}
        )
    )

    def __post_init__(self) -> None:
        self.log = AuditLog(self.root / "audit.jsonl", self.signer)
        self.store = ApprovalStore(self.root / "approvals.db")
        self.service = self.build_service()
        self.pdp = PolicyDecisionPoint(lambda: self.policies, clock=self.clock)
        self.auto = AutoApprover(self.service, self.pdp, record=self.record)

    def build_service(self, **options: Any) -> ApprovalService:
        settings: dict[str, Any] = {
            "authorise": lambda approver, item: None,
            "audit": self.log.append,
            "clock": self.clock,
        }
        return ApprovalService(self.store, self.directory, **(settings | options))

    def record(self, decision: Decision) -> None:
        self.log.append(decision_event(decision))

    def decide(self, request: AccessRequest) -> Decision:
        ref = request.resource
        actor = self.directory.get_user(request.actor)
        return self.pdp.decide(request, actor, self.directory.get_resource(ref.type, ref.id))

    def ask(
        self, actor: str, action: str, resource: str, requester: str | None = None, **context: Any
    ) -> ApprovalRequest:
        """Decide a request; it must be an allow with approvals, for which one is opened."""
        request = AccessRequest(actor=actor, action=action, resource=resource, context=context)
        decision = self.decide(request)
        needed = [o for o in decision.obligations if isinstance(o, ApprovalObligation)]
        assert decision.allowed, decision.reasons
        assert needed
        return self.service.open(request, decision, needed, requester=requester or actor)

    def install(self, actor: str = "otto", **context: Any) -> ApprovalRequest:
        return self.ask(actor, "software.install", "software:visio", **context)

    def records(self) -> list[AuditRecord]:
        return [parse_record(line, n) for n, line in enumerate(read_lines(self.log.path))]

    def close(self) -> None:
        self.store.close()
        self.log.close()


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    world.close()


def test_the_on_call_technicians_own_standard_install_is_approved_automatically(
    w: World,
) -> None:
    item = w.install(change="standard", device="LT-0042")

    outcome = w.auto.try_approve(item.id)

    done = outcome.request
    assert outcome.approved
    assert outcome.why_not is None
    assert outcome.decision is not None
    assert outcome.decision.allowed
    assert done.state is ApprovalState.APPROVED
    assert done.auto == AutoApproval(outcome.decision.decision_id, (AUTO_POLICY,), START)
    assert done.votes == ()  # nobody voted: the requester least of all
    assert (done.finished_at, done.finished_by) == (START, None)
    assert done.all_met
    assert w.service.get(item.id) == done
    assert w.service.is_satisfied(item.id, item.digest)


def test_the_question_and_the_approval_are_audited_in_order(w: World) -> None:
    item = w.install(change="standard")

    outcome = w.auto.try_approve(item.id)

    records = w.records()
    assert [r.type for r in records] == ["approval.opened", "decision", "approval.auto_approved"]
    verify_records(read_lines(w.log.path), w.signer.public_key)
    question, approved = records[1:]
    assert outcome.decision is not None
    assert (question.actor, question.action, question.resource) == (
        "otto", "approval.auto", f"approval:{item.id}",
    )  # fmt: skip
    assert question.decision_id == outcome.decision.decision_id
    assert question.payload["decision"] == "allow"
    assert question.payload["context"] == {"change": "standard"}
    assert (approved.actor, approved.action, approved.resource) == (
        None, "software.install", "software:visio",
    )  # fmt: skip
    assert approved.decision_id == item.decision_id  # the decision that asked for approval
    assert approved.payload == {
        "approval_id": item.id,
        "policies": [AUTO_POLICY],
        "decision_id": outcome.decision.decision_id,  # the decision that approved it
        "obligations": ["approval"],
        "digest": item.digest,
        "state": "approved",
    }


def test_the_on_call_admins_own_standard_access_grant_is_approved_automatically(
    w: World,
) -> None:
    item = w.ask("ines", "access.grant", "account:alice", system="crm", change="standard")

    assert w.auto.try_approve(item.id).request.state is ApprovalState.APPROVED


def pending_cases() -> list[Any]:
    def install(w: World) -> ApprovalRequest:
        return w.install(change="normal")

    def unclassified(w: World) -> ApprovalRequest:
        return w.install()

    def off_call(w: World) -> ApprovalRequest:
        return w.install("tara", change="standard")

    def someone_elses(w: World) -> ApprovalRequest:
        return w.ask("tara", "software.install", "software:visio", "otto", change="standard")

    def privileged(w: World) -> ApprovalRequest:
        return w.ask("ines", "access.grant", "account:root", system="crm", change="standard")

    no_permit = "approval.auto denied: no policy permits approval.auto on approval:"
    return [
        pytest.param(install, no_permit, id="a normal change waits for people"),
        pytest.param(unclassified, no_permit, id="a change without a class counts as normal"),
        pytest.param(off_call, no_permit, id="someone not on call waits for people"),
        pytest.param(
            someone_elses, no_permit, id="the on-call technician cannot skip people for others"
        ),
        pytest.param(
            privileged,
            "approval.auto denied: forbidden by approval-auto-never-privileged",
            id="a forbid wins: a privileged target always waits for people",
        ),
    ]


@pytest.mark.parametrize(("make", "why"), pending_cases())
def test_when_policy_does_not_allow_the_request_stays_pending_for_people(
    w: World, make: Any, why: str
) -> None:
    item = make(w)

    outcome = w.auto.try_approve(item.id)

    assert not outcome.approved
    assert outcome.why_not is not None
    assert outcome.why_not.startswith(why)
    assert outcome.decision is not None
    assert not outcome.decision.allowed
    assert outcome.request == item == w.service.get(item.id)  # nothing else changed
    assert [r.type for r in w.records()] == ["approval.opened", "decision"]
    assert w.records()[1].payload["decision"] == "deny"


def test_people_can_still_approve_a_request_policy_left_pending(w: World) -> None:
    item = w.install("tara", change="standard")
    w.auto.try_approve(item.id)

    done = w.service.approve(item.id, "mia", digest=item.digest)

    assert done.state is ApprovalState.APPROVED
    assert done.auto is None


def test_asking_twice_does_nothing_the_second_time(w: World) -> None:
    item = w.install(change="standard")
    first = w.auto.try_approve(item.id)
    w.clock.advance(60)

    second = w.auto.try_approve(item.id)

    assert (second.approved, second.decision, second.why_not) == (True, None, None)
    assert second.request == first.request
    assert [r.type for r in w.records()] == [
        "approval.opened",
        "decision",
        "approval.auto_approved",
    ]


def test_a_request_people_already_decided_is_left_alone(w: World) -> None:
    item = w.install(change="standard")
    w.service.reject(item.id, "mia", digest=item.digest)

    outcome = w.auto.try_approve(item.id)

    assert (outcome.approved, outcome.decision) == (False, None)
    assert outcome.why_not == f"approval {item.id} is rejected, not pending"
    assert outcome.request.state is ApprovalState.REJECTED


def test_an_overdue_request_expires_instead_of_being_approved(w: World) -> None:
    item = w.install(change="standard")
    w.clock.now = item.expires_at + timedelta(seconds=1)

    outcome = w.auto.try_approve(item.id)

    assert not outcome.approved
    assert outcome.why_not == f"approval {item.id} is expired, not pending"
    assert outcome.request.state is ApprovalState.EXPIRED
    assert [r.type for r in w.records()] == ["approval.opened", "decision", "approval.expired"]


def test_an_unreachable_directory_leaves_the_request_pending(w: World) -> None:
    item = w.install(change="standard")
    w.directory.down = True

    outcome = w.auto.try_approve(item.id)

    assert not outcome.approved
    assert outcome.why_not == "approval.auto denied: ldap: connection refused"
    assert w.service.get(item.id).state is ApprovalState.PENDING
    assert w.records()[-1].payload["decision"] == "deny"


def test_a_requester_the_directory_no_longer_knows_is_not_approved_automatically(
    w: World,
) -> None:
    w.directory.users["svc-bot"] = {"groups": ["staff", "oncall"], "manager": "mia"}
    item = w.ask("otto", "software.install", "software:visio", "svc-bot", change="standard")
    del w.directory.users["svc-bot"]  # removed since it asked

    outcome = w.auto.try_approve(item.id)

    assert outcome.why_not == (
        "approval.auto denied: unknown actor 'svc-bot': not found in the directory"
    )
    assert w.service.get(item.id).pending


def test_an_allow_that_carries_obligations_is_not_an_automatic_approval(
    w: World, tmp_path: Path
) -> None:
    bundle = tmp_path / "policies"
    shutil.copytree(POLICIES, bundle)
    cedar = bundle / "cedar" / "approvals.cedar"
    text = cedar.read_text()
    cedar.write_text(text.replace(f'@id("{AUTO_POLICY}")', f'@id("{AUTO_POLICY}")\n@step_up("")'))
    w.policies = PolicyEngine(load_bundle(bundle))
    item = w.install(change="standard")

    outcome = w.auto.try_approve(item.id)

    assert outcome.decision is not None
    assert outcome.decision.allowed
    assert outcome.why_not == "approval.auto allows only with obligations (step_up)"
    assert w.service.get(item.id).pending


def test_when_the_audit_log_refuses_the_approval_nothing_changes(w: World) -> None:
    item = w.install(change="standard")
    calls: list[AuditEvent] = []
    service = w.build_service(audit=failing_sink(calls))
    auto = AutoApprover(service, w.pdp, record=w.record)

    with pytest.raises(RuntimeError, match="audit down"):
        auto.try_approve(item.id)

    assert [event.type for event in calls] == ["approval.auto_approved"]
    current = w.service.get(item.id)
    assert (current.state, current.auto) == (ApprovalState.PENDING, None)
    assert w.auto.try_approve(item.id).approved  # the next try still can


def test_two_approvals_of_one_request_give_one_transition(w: World) -> None:
    item = w.install(change="standard")
    decision = w.auto.decide(item)

    first = w.service.approve_automatically(item.id, decision)
    second = w.service.approve_automatically(item.id, decision)

    assert first == second
    assert [r.type for r in w.records()].count("approval.auto_approved") == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param("deny", "needs an allow", id="a deny cannot approve"),
        pytest.param("other", "on approval:", id="a decision about another request cannot"),
    ],
)
def test_approving_automatically_needs_the_allow_for_this_request(
    w: World, change: str, message: str
) -> None:
    item = w.install(change="standard")
    other = w.install(change="standard")
    if change == "deny":
        decision = w.auto.decide(w.install("tara", change="standard"))
        decision = decision.model_copy(update={"request": auto_request(item)})
    else:
        decision = w.auto.decide(other)

    with pytest.raises(RuntimeError, match=message):
        w.service.approve_automatically(item.id, decision)
    assert w.service.get(item.id).pending


def test_the_automatic_approval_survives_a_restart(w: World) -> None:
    item = w.install(change="standard")
    done = w.auto.try_approve(item.id).request
    w.store.close()

    w.store = ApprovalStore(w.root / "approvals.db")

    assert w.build_service().get(item.id) == done


def test_a_store_written_before_automatic_approvals_existed_opens(w: World) -> None:
    item = w.install()
    w.store.close()
    with sqlite3.connect(w.root / "approvals.db") as db:
        db.execute("DROP TABLE auto_approvals")
        db.execute("PRAGMA user_version = 1")  # as the gateway wrote it then
    db.close()

    w.store = ApprovalStore(w.root / "approvals.db")

    assert w.build_service().get(item.id) == item


def test_the_automatic_approval_still_holds_while_the_rule_still_allows_it(w: World) -> None:
    done = w.auto.try_approve(w.install(change="standard").id).request

    assert w.auto.shortfall(done) is None
    assert w.records()[-1].type == "decision"  # asked again, and recorded


def test_the_automatic_approval_no_longer_holds_once_off_call(w: World) -> None:
    done = w.auto.try_approve(w.install(change="standard").id).request
    w.directory.users["otto"]["groups"] = ["staff", "field-technicians"]

    why = w.auto.shortfall(done)

    assert why == f"approval.auto denied: no policy permits approval.auto on approval:{done.id}"


def test_a_request_people_approved_has_no_automatic_approval_to_recheck(w: World) -> None:
    item = w.install("tara", change="standard")
    done = w.service.approve(item.id, "mia", digest=item.digest)

    assert w.auto.shortfall(done) == f"approval {item.id} was not approved automatically"


def test_without_a_recorder_decisions_are_not_appended(w: World) -> None:
    auto = AutoApprover(w.service, w.pdp)

    assert auto.try_approve(w.install(change="standard").id).approved
    assert [r.type for r in w.records()] == ["approval.opened", "approval.auto_approved"]


def facts(item: ApprovalRequest, target: ResourceFacts | None) -> dict[str, object]:
    return dict(approval_facts(item, target).attributes)


def test_the_approval_entity_policies_see(w: World) -> None:
    item = w.install(change="standard", device="LT-0042")
    target = ResourceFacts(type="software", id="visio", attributes={"approved": True})

    assert approval_facts(item, target) == ResourceFacts(
        type="approval",
        id=item.id,
        attributes={
            "actor": {"type": "User", "id": "otto"},
            "action": "software.install",
            "resource_type": "software",
            "target": "visio",
            "target_privileged": False,
            "change": "standard",
        },
    )
    assert auto_request(item) == AccessRequest(
        actor="otto",
        action="approval.auto",
        resource=f"approval:{item.id}",
        context={"change": "standard", "device": "LT-0042"},
    )


@pytest.mark.parametrize(
    ("attributes", "privileged"),
    [
        pytest.param(None, True, id="a target the directory does not know counts as privileged"),
        pytest.param({"privileged": True}, True, id="a privileged target is privileged"),
        pytest.param({"privileged": "no"}, True, id="anything but false counts as privileged"),
        pytest.param({"privileged": False}, False, id="a target marked unprivileged is not"),
        pytest.param({}, False, id="a target without the fact is not privileged"),
    ],
)
def test_whether_the_target_is_privileged(
    w: World, attributes: dict[str, Any] | None, privileged: bool
) -> None:
    item = w.install()
    target = (
        None
        if attributes is None
        else ResourceFacts(type="software", id="visio", attributes=attributes)
    )

    assert facts(item, target)["target_privileged"] is privileged
    assert facts(item, target)["change"] == "normal"


def test_stale_target_facts_are_passed_on_so_the_decision_refuses_them(w: World) -> None:
    item = w.install(change="standard")
    target = ResourceFacts(type="software", id="visio", stale_since=START)
    decision = w.pdp.decide(
        auto_request(item), w.directory.get_user("otto"), approval_facts(item, target)
    )

    assert approval_facts(item, target).stale_since == START
    assert not decision.allowed
    assert "approval.auto needs fresh facts" in decision.reasons[0].message


def test_through_the_composed_gateway_every_step_is_in_one_audit_log(tmp_path: Path) -> None:
    from gateway.app import Gateway, open_approvals
    from gateway.config import ApprovalsConfig
    from gateway.policy.store import PolicyStore

    directory = Directory(
        "ldap", people(), {"software:visio": {"approved": True, "licensed": True}}
    )
    log = AuditLog(tmp_path / "audit.jsonl", Signer.generate())
    gateway = Gateway(PolicyStore(POLICIES), directory, log)
    approvals = open_approvals(ApprovalsConfig(database=tmp_path / "approvals.db"), gateway)
    auto = AutoApprover(
        approvals, gateway.decision_point, record=lambda d: log.append(decision_event(d))
    )
    request = AccessRequest(
        actor="otto",
        action="software.install",
        resource="software:visio",
        context={"change": "standard"},
    )
    decision = gateway.authorize(request)
    needed = [o for o in decision.obligations if isinstance(o, ApprovalObligation)]
    item = approvals.open(request, decision, needed, requester="otto")

    outcome = auto.try_approve(item.id)

    assert outcome.approved
    records = [parse_record(line, n) for n, line in enumerate(read_lines(log.path))]
    assert [(r.type, r.action) for r in records] == [
        ("decision", "software.install"),
        ("approval.opened", "software.install"),
        ("decision", "approval.auto"),
        ("approval.auto_approved", "software.install"),
    ]
    approvals.store.close()
    gateway.close()
