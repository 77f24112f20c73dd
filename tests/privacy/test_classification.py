"""Every audit event type the gateway writes is classified, in one place."""

from __future__ import annotations

from pathlib import Path

from gateway.approvals.model import ApprovalState
from gateway.privacy.classification import CLASSIFICATION, classify
from gateway.runtime.model import ExecutionState
from gateway.selfservice.model import RunState
from tests.privacy.emitted_types import scan

# f-strings that spell a type from an enumeration: f"approval.{state}", ...
FAMILIES = {
    "approval.": tuple(ApprovalState),
    "execution.": tuple(ExecutionState),
    "selfservice.": tuple(RunState),
}


def test_every_event_type_the_source_emits_is_classified() -> None:
    found = scan(families=FAMILIES)
    assert found.unresolved == [], "event types the scan cannot tell; name them plainly"
    assert len(found.types) > 60  # the scan does see the gateway's records
    missing = sorted(found.types - CLASSIFICATION.keys())
    assert missing == [], f"classify these in gateway/privacy/classification.py: {missing}"


def test_a_new_unclassified_type_in_the_source_is_found(tmp_path: Path) -> None:
    package = tmp_path / "gateway"
    package.mkdir()
    (package / "thing.py").write_text(
        "from gateway.audit.records import AuditEvent\n"
        'PLAIN = "thing.constant_made"\n'
        "class Service:\n"
        "    def _record(self, kind, payload):\n"
        '        return AuditEvent(type=f"thing.{kind}", payload=payload)\n'
        "    def work(self):\n"
        '        self._record("did_work", {})\n'
        '        AuditEvent(type="thing.literal")\n'
        "        AuditEvent(type=PLAIN)\n"
        "        AuditEvent(type=self.pick())\n"
    )
    found = scan(package)
    assert found.types == {"thing.did_work", "thing.literal", "thing.constant_made"}
    assert found.unresolved == ["gateway/thing.py:10"]
    assert not found.types & CLASSIFICATION.keys()


def test_the_facts_of_a_decision_record_are_personal() -> None:
    rule = classify("decision")
    assert rule is not None
    assert "facts" in rule.personal


def test_records_embedding_device_signed_lines_are_never_sealed_inside() -> None:
    for kind in ("offline.segment_merged", "offline.record"):
        rule = classify(kind)
        assert rule is not None
        assert rule.signed_embed


def test_an_unknown_type_has_no_classification() -> None:
    assert classify("nothing.like_this") is None
