"""The facts a decision record keeps read back as the facts the engines saw."""

from __future__ import annotations

from gateway.identity.facts import AccountStatus, IdentityFacts
from gateway.policy.engine import rbac_subjects
from gateway.policy.entities import user_entity
from gateway.policy.recorded_facts import read_recorded_facts, recorded_facts


def test_every_fact_the_engines_read_survives_the_record_and_defaults_are_left_out() -> None:
    unusual = IdentityFacts(
        id="svc", username="svc", groups=frozenset({"b", "a"}), department="IT", title="Bot",
        status=AccountStatus.LOCKED, privileged=True, mfa_factors=("totp",),
        employee_type="service", location="Lab", manager="ivan", display_name="not kept",
    )  # fmt: skip
    plain = IdentityFacts(id="tom", username="tom")

    for facts in (unusual, plain):
        kept = recorded_facts(facts, None)
        read = read_recorded_facts(kept, "account", "x")
        assert read is not None
        actor, resource = read
        assert resource is None
        assert user_entity(actor) == user_entity(facts)
        assert rbac_subjects(actor) == rbac_subjects(facts)
    assert recorded_facts(plain, None)["actor"] == {"id": "tom"}
    assert recorded_facts(unusual, None)["actor"]["groups"] == ["a", "b"]
