"""``kb.publish`` through the guarded runtime: decided, audited, queued when the knowledge
base is down, failed when it refuses."""

from __future__ import annotations

import pytest

from gateway.app import open_knowledge
from gateway.audit.log import read_lines
from gateway.audit.records import parse_record
from gateway.config import GatewayConfig
from gateway.errors import ActionFailedError
from gateway.knowledge.actions import knowledge_actions
from gateway.knowledge.base import KnowledgeBase
from gateway.knowledge.errors import KnowledgeStoreError
from gateway.knowledge.trail import Trail, TrailKind
from gateway.runtime.actions import ActionCall
from gateway.runtime.model import ExecutionState
from tests.knowledge.conftest import Runtime, knowledge_config
from tests.knowledge.servers import knowledge_server
from tests.runtime.harness import Clock


def _article(base: KnowledgeBase) -> str:
    trail = Trail(
        kind=TrailKind.EXECUTION,
        subject="e1",
        title="Printer offline",
        category="printing",
        executions=("e1",),
    )
    return base.record(trail).article.id


def _audited(config: GatewayConfig, kind: str) -> list[str]:
    records = [parse_record(line, i) for i, line in enumerate(read_lines(config.audit.log))]
    return [str(r.resource) for r in records if r.type == kind and r.action == "kb.publish"]


def test_the_helpdesk_publishes_and_it_is_audited(runtime: Runtime, base: KnowledgeBase) -> None:
    article = _article(base)
    done = runtime.run("kb-publish", "elena", article=article)
    assert done.state is ExecutionState.SUCCEEDED, done.status
    output = done.step("publish").output
    assert output["destination"] == "folder"
    assert output["version"] == 1
    assert base.get(article).meta.status == "published"
    assert _audited(runtime.config, "decision") == [f"article:{article}"]
    assert _audited(runtime.config, "action.started") == [f"article:{article}:folder"]


def test_an_employee_may_not_publish(runtime: Runtime, base: KnowledgeBase) -> None:
    article = _article(base)
    refused = runtime.run("kb-publish", "tom", article=article)
    assert refused.state is ExecutionState.FAILED
    assert base.get(article).meta.status == "draft"


def test_an_unknown_article_or_destination_fails_the_execution(runtime: Runtime) -> None:
    failed = runtime.run("kb-publish", "elena", article="nope")
    assert failed.state is ExecutionState.FAILED
    assert "unknown article 'nope'" in (failed.step("publish").error or "")
    other = runtime.run("kb-publish", "elena", article="nope", destination="confluence")
    assert other.state is ExecutionState.FAILED


def test_an_outage_queues_the_publication_until_the_system_is_back(
    config: GatewayConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SN_TOKEN", "tok-1")
    with knowledge_server("servicenow") as server:
        configured = knowledge_config(
            config,
            servicenow={
                "instance_url": server.url,
                "knowledge_base": "kb1",
                "token_env": "SN_TOKEN",
            },
        )
        clock = Clock()
        world = Runtime(configured, clock)
        try:
            base = open_knowledge(configured.knowledge)
            article = _article(base)
            base.close()
            server.fail_with = 503
            waiting = world.run("kb-publish", "elena", article=article, destination="servicenow")
            assert waiting.state is ExecutionState.WAITING_FOR_TARGET
            assert waiting.status.startswith("servicenow knowledge is unavailable; step publish")
            server.fail_with = None
            clock.advance(seconds=60)
            done = world.executor.advance(waiting.id)
        finally:
            world.close()
    assert done.state is ExecutionState.SUCCEEDED
    assert len(server.records) == 1
    assert done.step("publish").output["url"].endswith("sysparm_article=KB0010001")


def test_a_knowledge_base_that_cannot_open_fails_the_action(config: GatewayConfig) -> None:
    def broken() -> KnowledgeBase:
        raise KnowledgeStoreError("index is broken")

    (action,) = knowledge_actions(broken)
    call = ActionCall("e", "publish", "elena", {"article": "a", "destination": "folder"})
    with pytest.raises(ActionFailedError, match="index is broken"):
        action.run(call)
    assert action.resource is not None
    assert action.resource({"article": "a"}) == "article:a"
    assert action.target is not None
    assert action.target({"article": "a", "destination": "folder"}) == "article:a:folder"
