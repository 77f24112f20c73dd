"""The story: a multi-step resolution (diagnostics, a refused remediation, an escalation,
the fix) becomes a good article; a second similar ticket updates it; it is suggested for a
third ticket and published through the guarded runtime."""

from __future__ import annotations

from gateway.app import open_knowledge
from gateway.cli.demo_knowledge import run_knowledge_scenario
from gateway.config import GatewayConfig
from gateway.runtime.model import ExecutionState
from tests.knowledge.conftest import Runtime
from tests.runtime.harness import Clock


def test_a_complex_resolution_becomes_one_article_with_two_versions(runtime: Runtime) -> None:
    result = run_knowledge_scenario(runtime.config, runtime.gateway, runtime.executor)

    assert result.first.change == "created"
    assert result.second.change == "updated"
    assert result.second.article.id == result.first.article.id
    assert result.second.article.version == 2
    assert result.second.article.occurrences == 2
    article = result.second.article
    assert article.signature == "archive-access/install"
    assert article.tickets == ["T-2001", "T-2002"]
    assert any(step.startswith("Check file share reachable") for step in article.steps)
    assert any(step.startswith("Escalate: Ask the desktop team") for step in article.steps)
    assert any("7-zip" in attempt for attempt in article.did_not_work)
    assert article.resolution.startswith("install: 7zip installed on")
    # what the person is told is plain and holds no personal data
    assert "tom@example.com" not in result.user_summary
    assert "1234 5678" not in result.user_summary
    assert "Your issue is resolved." in result.user_summary
    assert "&lt;b&gt;" in result.user_summary
    assert "<b>" not in result.user_summary
    # the technician sees the refusal with its reasons, the diagnostics and timings
    technician = result.technician_summary
    assert "**diagnostic file share reachable**: passed in 42 ms" in technician
    assert "reason: no directory facts for software:7-zip" in technician
    assert "What failed along the way:" in technician
    assert "\\[email\\]" in technician
    assert "\\[phone\\]" in technician
    # suggested for a new ticket, and published by elena through the runtime
    assert [s.article for s in result.suggestions] == [article.id]
    assert result.published is not None
    assert result.published.state is ExecutionState.SUCCEEDED
    base = open_knowledge(runtime.config.knowledge)
    try:
        published = base.get(article.id).meta
        assert published.status == "published"
        assert published.published["folder"].version == 2
        assert base.get(article.id, 1).meta.tickets == ["T-2001"]
    finally:
        base.close()


def test_without_the_publishing_workflow_the_scenario_says_so(config: GatewayConfig) -> None:
    (config.runtime.workflows / "kb-publish.yaml").unlink(missing_ok=True)
    world = Runtime(config, Clock(), knowledge=False)
    try:
        result = run_knowledge_scenario(world.config, world.gateway, world.executor)
    finally:
        world.close()
    assert result.published is None
    assert result.second.change == "updated"
