"""Approvals over HTTP: people vote as themselves, on exactly the request they saw."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.approvals.model import ApprovalRequest
from gateway.policy.decision import ApprovalObligation
from gateway.policy.request import AccessRequest
from tests.api.conftest import Api, MakeApi


def open_grant(
    api: Api, target: str = "tom", needed: tuple[ApprovalObligation, ...] = ()
) -> ApprovalRequest:
    """Omar asks to grant payroll access to ``target``; policy wants the target's manager
    (or ``needed``)."""
    assert api.gateway.approvals is not None
    request = AccessRequest.model_validate(
        {
            "actor": "omar",
            "action": "access.grant",
            "resource": f"account:{target}",
            "context": {"system": "payroll", "parameters": {"api_token": "s3cr3t-value"}},
        }
    )
    decision = api.gateway.authorize(request)
    asked = needed or [o for o in decision.obligations if isinstance(o, ApprovalObligation)]
    return api.gateway.approvals.open(request, decision, asked, requester="omar")


def test_an_approver_sees_what_waits_for_them_with_secrets_redacted(api: Api) -> None:
    item = open_grant(api)

    mine = api.client.get("/v1/approvals?mine=true", headers=api.as_person("priya"))
    others = api.client.get("/v1/approvals", headers=api.as_person("grace"))

    assert mine.status_code == 200
    (shown,) = mine.json()
    assert (shown["id"], shown["state"], shown["digest"]) == (item.id, "pending", item.digest)
    assert (shown["actor"], shown["requester"], shown["target"]) == ("omar", "omar", "tom")
    assert shown["context"]["parameters"] == {"api_token": "[redacted]"}
    assert "s3cr3t-value" not in mine.text
    assert shown["obligations"][0]["approved_by"] == []
    assert others.json() == []


def test_one_request_is_shown_by_id(api: Api) -> None:
    item = open_grant(api)

    response = api.client.get(f"/v1/approvals/{item.id}", headers=api.as_person("grace"))

    assert response.status_code == 200
    assert response.json()["resource"] == "account:tom"
    assert response.json()["approved_by_policy"] is False


def test_an_unknown_request_is_404(api: Api) -> None:
    response = api.client.get("/v1/approvals/nothing-here", headers=api.as_person("priya"))

    assert response.status_code == 404
    assert response.json()["type"] == "urn:it-support-gateway:problem:approval-not-found"


def test_the_manager_approves_with_the_digest_they_saw(api: Api) -> None:
    item = open_grant(api)

    response = api.client.post(
        f"/v1/approvals/{item.id}/approve",
        json={"digest": item.digest},
        headers=api.as_person("priya", "approvals:write"),
    )

    assert response.status_code == 200
    shown = response.json()
    assert (shown["state"], shown["finished_by"]) == ("approved", "priya")
    assert shown["obligations"][0]["approved_by"] == ["priya"]
    assert shown["obligations"][0]["met"] is True
    (approved,) = api.audited("approval.approved")
    assert approved.actor == "priya"


def notifications(api: Api) -> list[dict[str, Any]]:
    path = api.config.notifications.file
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_vote_that_finishes_a_request_tells_the_requester(api: Api) -> None:
    approved, rejected = open_grant(api), open_grant(api)
    person = api.as_person("priya")

    api.client.post(
        f"/v1/approvals/{approved.id}/approve", json={"digest": approved.digest}, headers=person
    )
    api.client.post(f"/v1/approvals/{rejected.id}/reject", json={"digest": rejected.digest},
                    headers=person)  # fmt: skip

    told = [(n["kind"], n["recipients"], n["fields"]["request"]) for n in notifications(api)]
    assert told == [("approved", ["omar"], approved.id), ("denied", ["omar"], rejected.id)]


def test_a_vote_that_leaves_the_request_pending_tells_nobody(api: Api) -> None:
    two = ApprovalObligation(
        name="two", approvers=("group:security-team",), quorum=2, policy="test-two"
    )
    item = open_grant(api, needed=(two,))

    response = api.client.post(
        f"/v1/approvals/{item.id}/approve", json={"digest": item.digest},
        headers=api.as_person("grace"),
    )  # fmt: skip

    assert response.json()["state"] == "pending"
    assert notifications(api) == []


def test_a_vote_for_another_digest_is_409_and_changes_nothing(api: Api) -> None:
    item = open_grant(api)

    response = api.client.post(
        f"/v1/approvals/{item.id}/approve",
        json={"digest": "sha256:" + "0" * 64},
        headers=api.as_person("priya"),
    )

    assert response.status_code == 409
    assert response.json()["type"] == "urn:it-support-gateway:problem:digest-mismatch"
    assert (
        api.client.get(f"/v1/approvals/{item.id}", headers=api.as_person("priya")).json()["state"]
        == "pending"
    )


def test_the_target_and_strangers_may_not_vote(api: Api) -> None:
    item = open_grant(api)
    vote = {"digest": item.digest}

    by_target = api.client.post(
        f"/v1/approvals/{item.id}/approve", json=vote, headers=api.as_person("tom")
    )
    by_stranger = api.client.post(
        f"/v1/approvals/{item.id}/approve", json=vote, headers=api.as_person("grace")
    )

    assert (by_target.status_code, by_stranger.status_code) == (403, 403)
    assert by_target.json()["type"] == "urn:it-support-gateway:problem:self-approval"
    assert by_stranger.json()["type"] == "urn:it-support-gateway:problem:not-eligible"
    assert len(api.audited("approval.refused")) == 2


def test_a_rejection_finishes_the_request_and_later_votes_are_409(api: Api) -> None:
    item = open_grant(api)
    vote = {"digest": item.digest}

    rejected = api.client.post(
        f"/v1/approvals/{item.id}/reject", json=vote, headers=api.as_person("priya")
    )
    late = api.client.post(
        f"/v1/approvals/{item.id}/approve", json=vote, headers=api.as_person("priya")
    )

    assert rejected.json()["state"] == "rejected"
    assert rejected.json()["obligations"][0]["rejected_by"] == ["priya"]
    assert late.status_code == 409
    assert late.json()["type"] == "urn:it-support-gateway:problem:approval-finished"


def test_a_service_cannot_vote_and_the_attempt_is_audited(api: Api) -> None:
    item = open_grant(api)

    response = api.client.post(
        f"/v1/approvals/{item.id}/approve",
        json={"digest": item.digest},
        headers=api.as_service("decisions:write", "audit:read"),
    )

    assert response.status_code == 403
    assert "votes and step-ups come from people" in response.json()["detail"]
    (refusal,) = api.audited("api.refused")
    assert refusal.payload["route"] == "/v1/approvals/{approval_id}/approve"
    assert refusal.payload["method"] == "POST"
    assert api.audited("approval.approved") == []


def test_a_service_listing_approvals_is_refused_without_an_audit_record(api: Api) -> None:
    response = api.client.get("/v1/approvals", headers=api.as_service())

    assert response.status_code == 403
    assert api.audited("api.refused") == []


def test_only_mine_true_is_supported(api: Api) -> None:
    response = api.client.get("/v1/approvals?mine=false", headers=api.as_person("priya"))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "mine"


def test_approval_routes_answer_404_when_approvals_are_off(make_api: MakeApi) -> None:
    api = make_api("[approvals]\nenabled = false\n")

    response = api.client.get("/v1/approvals", headers=api.as_person("priya"))

    assert response.status_code == 404
    assert response.json()["type"] == "urn:it-support-gateway:problem:approvals-disabled"


def test_the_requester_the_approvers_and_the_auditors_read_a_request(api: Api) -> None:
    item = open_grant(api)

    shown = {
        person: api.client.get(f"/v1/approvals/{item.id}", headers=api.as_person(person))
        for person in ("omar", "priya", "grace")
    }

    assert {person: r.status_code for person, r in shown.items()} == {
        "omar": 200,
        "priya": 200,
        "grace": 200,
    }
    reads = [r for r in api.audited("decision") if r.action == "approval.read"]
    assert [(r.actor, r.resource, r.payload["decision"]) for r in reads] == [
        ("omar", f"approval:{item.id}", "allow"),
        ("priya", f"approval:{item.id}", "allow"),
        ("grace", f"approval:{item.id}", "allow"),
    ]


@pytest.mark.parametrize(
    "person", ["tom", "sam", "elena"], ids=["the target", "an admin", "a colleague"]
)
def test_anyone_else_is_told_no_more_than_for_an_unknown_request(api: Api, person: str) -> None:
    item = open_grant(api)

    response = api.client.get(f"/v1/approvals/{item.id}", headers=api.as_person(person))
    unknown = api.client.get("/v1/approvals/nothing-here", headers=api.as_person(person))

    assert response.status_code == unknown.status_code == 404
    assert response.json()["type"] == unknown.json()["type"]
    assert response.json()["detail"] == f"approval {item.id}: unknown request"
    assert "payroll" not in response.text
    assert "omar" not in response.text
    (refused,) = [r for r in api.audited("decision") if r.action == "approval.read"]
    assert (refused.actor, refused.payload["decision"]) == (person, "deny")


def test_a_disabled_person_is_refused_by_the_inactive_actor_guardrail(api: Api) -> None:
    item = open_grant(api)
    reads = api.gateway.approval_reads
    assert reads is not None

    decision = reads.authorize(
        AccessRequest(actor="lena", action="approval.read", resource=f"approval:{item.id}")
    )

    assert not decision.allowed
    assert [r.policy for r in decision.reasons if r.effect == "forbid"] == ["inactive-actor"]
    (refused,) = [r for r in api.audited("decision") if r.action == "approval.read"]
    assert (refused.actor, refused.payload["decision"]) == ("lena", "deny")
