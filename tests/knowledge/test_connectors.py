"""ServiceNow Knowledge and Confluence, against local servers speaking their API shapes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from gateway.app import open_destinations, open_knowledge
from gateway.config import GatewayConfig
from gateway.errors import ConfigError, TargetUnavailableError
from gateway.knowledge.article import ArticleMeta, PublishedCopy
from gateway.knowledge.connectors.confluence import ConfluenceSettings, ConfluenceSpace
from gateway.knowledge.connectors.html import article_html
from gateway.knowledge.connectors.servicenow import ServiceNowKnowledge, ServiceNowKnowledgeSettings
from gateway.knowledge.errors import PublishError
from tests.knowledge.conftest import knowledge_config
from tests.knowledge.servers import KnowledgeServer, knowledge_server

ARTICLE = ArticleMeta(
    id="vpn-drops",
    title="VPN drops <hourly>",
    version=1,
    signature="vpn/reset",
    summary="Resolved & done",
    symptoms=["error 809"],
    keywords=["vpn", "drop"],
    steps=["Run reset"],
    did_not_work=["Run old"],
    resolution="reset",
    follow_ups=["cable"],
    tickets=["T-1"],
)


@pytest.fixture
def servicenow() -> Iterator[KnowledgeServer]:
    with knowledge_server("servicenow") as server:
        yield server


@pytest.fixture
def confluence() -> Iterator[KnowledgeServer]:
    with knowledge_server("confluence") as server:
        yield server


def _servicenow(server: KnowledgeServer, **extra: object) -> ServiceNowKnowledge:
    settings = ServiceNowKnowledgeSettings.model_validate(
        {"instance_url": server.url, "knowledge_base": "kb1", "token": "tok-1", **extra}
    )
    return ServiceNowKnowledge(settings)


def _confluence(server: KnowledgeServer) -> ConfluenceSpace:
    settings = ConfluenceSettings.model_validate(
        {
            "base_url": server.url,
            "space_key": "IT",
            "username": "svc",
            "token": "tok-2",
            "parent_page": "77",
        }
    )
    return ConfluenceSpace(settings)


def test_servicenow_creates_then_updates_one_kb_knowledge_record(
    servicenow: KnowledgeServer,
) -> None:
    destination = _servicenow(servicenow, category="cat1", workflow_state="draft")
    try:
        first = destination.publish(ARTICLE)
        record = servicenow.records[first.id]
        assert record["short_description"] == "VPN drops <hourly>"
        assert record["kb_knowledge_base"] == "kb1"
        assert record["kb_category"] == "cat1"
        assert record["workflow_state"] == "draft"
        assert record["meta"] == "vpn drop gateway-article:vpn-drops"
        assert "<h2>Symptoms</h2>" in record["text"]
        assert "&lt;hourly&gt;" not in record["text"]
        assert "Resolved &amp; done" in record["text"]
        assert first.url == f"{servicenow.url}/kb_view.do?sysparm_article=KB0010001"
        # run again without the id kept (a crash after the call): found by its marker
        again = destination.publish(ARTICLE)
        v2 = ARTICLE.model_copy(update={"version": 2, "published": {"servicenow": first}})
        updated = destination.publish(v2)
    finally:
        destination.close()
    assert again.id == updated.id == first.id
    assert updated.version == 2
    assert len(servicenow.records) == 1
    assert [(m, p.split("?")[0]) for m, p, _ in servicenow.requests] == [
        ("GET", "/api/now/table/kb_knowledge"),
        ("POST", "/api/now/table/kb_knowledge"),
        ("GET", "/api/now/table/kb_knowledge"),
        ("PATCH", f"/api/now/table/kb_knowledge/{first.id}"),
        ("PATCH", f"/api/now/table/kb_knowledge/{first.id}"),
    ]


def test_servicenow_outages_and_refusals(servicenow: KnowledgeServer) -> None:
    destination = _servicenow(servicenow, username="svc", password="pw-1", token=None)
    try:
        servicenow.fail_with = 503
        with pytest.raises(
            TargetUnavailableError, match="servicenow knowledge is unavailable: GET"
        ):
            destination.publish(ARTICLE)
        servicenow.fail_with = 403
        with pytest.raises(
            PublishError, match="refused GET /api/now/table/kb_knowledge: 403 the system says no"
        ):
            destination.publish(ARTICLE)
        servicenow.fail_with = None
        servicenow.reply = b'{"result": {}}'
        with pytest.raises(PublishError, match=r"the answer has no result\.sys_id"):
            destination.publish(ARTICLE)
        servicenow.reply = b"[1]"
        with pytest.raises(PublishError, match="did not answer with a JSON object"):
            destination.publish(ARTICLE)
        servicenow.reply = b"<html>"
        with pytest.raises(PublishError, match="did not answer with a JSON object"):
            destination.publish(ARTICLE)
    finally:
        destination.close()
    gone = ARTICLE.model_copy(
        update={"published": {"servicenow": PublishedCopy(id="x", version=1)}}
    )
    servicenow.reply = None
    destination = _servicenow(servicenow)
    try:
        with pytest.raises(PublishError, match="404 No Record found"):
            destination.publish(gone)
    finally:
        destination.close()


def test_confluence_creates_a_page_then_increments_its_version(confluence: KnowledgeServer) -> None:
    destination = _confluence(confluence)
    try:
        first = destination.publish(ARTICLE)
        page = confluence.records[first.id]
        assert page["type"] == "page"
        assert page["space"] == {"key": "IT"}
        assert page["ancestors"] == [{"id": "77"}]
        assert page["body"]["storage"]["representation"] == "storage"
        assert first.remote_version == 1
        assert first.url == f"{confluence.url}/spaces/IT/pages/{first.id}"
        v2 = ARTICLE.model_copy(update={"version": 2, "published": {"confluence": first}})
        second = destination.publish(v2)
        again = destination.publish(ARTICLE)  # found by title in the space
    finally:
        destination.close()
    assert second.id == first.id
    assert second.remote_version == 2
    assert second.version == 2
    assert again.remote_version == 3
    assert [m for m, _, _ in confluence.requests] == ["GET", "POST", "GET", "PUT", "GET", "PUT"]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b'{"results": [{"id": "x"}]}', "the page has no id"),
        (
            b'{"results": [{"id": "5", "version": {"number": true}}]}',
            "the page has no version number",
        ),
        (b'{"results": [{"id": "5", "version": 3}]}', "the page has no version number"),
        (b'{"results": [], "id": ""}', "the answer has no page id"),
    ],
    ids=["no page id", "a boolean version", "a version that is no object", "no id in the answer"],
)
def test_confluence_answers_that_make_no_sense(
    confluence: KnowledgeServer, reply: bytes, message: str
) -> None:
    confluence.reply = reply
    destination = _confluence(confluence)
    try:
        with pytest.raises(PublishError, match=message):
            destination.publish(ARTICLE)
    finally:
        destination.close()


def test_an_unreachable_or_slow_knowledge_base_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    settings = ConfluenceSettings.model_validate(
        {"base_url": "http://kb.invalid", "space_key": "IT", "username": "u", "token": "t"}
    )
    for handler, message in ((refuse, "ConnectError"), (slow, "timed out")):
        destination = ConfluenceSpace(settings, transport=httpx.MockTransport(handler))
        with pytest.raises(TargetUnavailableError, match=message):
            destination.publish(ARTICLE)
        destination.close()


def test_confluence_without_a_parent_page_or_links(confluence: KnowledgeServer) -> None:
    confluence.reply = b'{"results": [], "id": "9", "version": {"number": 1}}'
    settings = ConfluenceSettings.model_validate(
        {"base_url": confluence.url, "space_key": "IT", "username": "u", "token": "t"}
    )
    destination = ConfluenceSpace(settings)
    try:
        copy = destination.publish(ARTICLE)
    finally:
        destination.close()
    assert (copy.id, copy.url, copy.remote_version) == ("9", None, 1)
    assert "ancestors" not in (confluence.requests[-1][2] or {})


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (b"plain text refusal", "400 plain text refusal"),
        (b'{"message": "Version must be incremented"}', "400 Version must be incremented"),
        (b'["odd"]', "400"),
        (b'{"error": "flat"}', "400"),
    ],
    ids=["text", "a message", "a list", "an error that is no object"],
)
def test_a_refusal_shows_the_systems_own_words(body: bytes, shown: str) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(400, content=body))
    settings = ConfluenceSettings.model_validate(
        {"base_url": "http://kb.invalid", "space_key": "IT", "username": "u", "token": "t"}
    )
    destination = ConfluenceSpace(settings, transport=transport)
    with pytest.raises(PublishError) as caught:
        destination.publish(ARTICLE)
    destination.close()
    assert str(caught.value) == f"confluence refused GET /rest/api/content: {shown}"


def test_article_html_escapes_everything() -> None:
    bare = ArticleMeta(id="a", title="T", version=1, signature="s", summary="<i>x</i>")
    assert article_html(bare) == (
        "<p>&lt;i&gt;x&lt;/i&gt;</p><h2>Resolution</h2><h2>Record</h2>"
        "<ul><li>Article a, version 1</li></ul>"
    )


def test_destinations_come_from_configuration_with_secrets_from_the_environment(
    config: GatewayConfig, servicenow: KnowledgeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_TOKEN", "tok-9")
    configured = knowledge_config(
        config,
        servicenow={
            "instance_url": servicenow.url,
            "knowledge_base": "kb1",
            "token_env": "KB_TOKEN",
        },
        confluence={
            "base_url": servicenow.url,
            "space_key": "IT",
            "username": "u",
            "token_env": "KB_TOKEN",
        },
    )
    destinations = open_destinations(configured.knowledge)
    assert sorted(destinations) == ["confluence", "servicenow"]
    for destination in destinations.values():
        destination.close()
    base = open_knowledge(configured.knowledge)
    base.close()
    assert open_destinations(config.knowledge) == {}


def test_a_destination_whose_secret_variable_is_not_set_is_refused_when_opened(
    config: GatewayConfig,
) -> None:
    table = {"instance_url": "http://x", "knowledge_base": "kb", "token_env": "NOT_SET_ANYWHERE"}
    configured = knowledge_config(config, servicenow=table)
    with pytest.raises(ConfigError) as caught:
        open_destinations(configured.knowledge)
    assert str(caught.value) == (
        "knowledge.servicenow.token_env: environment variable NOT_SET_ANYWHERE is not set"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"instance_url": "http://x", "knowledge_base": "kb"},
            "Value error, set either username and password_env, or token_env",
        ),
        (
            {"instance_url": "http://x", "knowledge_base": "kb", "username": "u", "token": "t"},
            "username and password go together",
        ),
        (
            {"instance_url": "http://x", "knowledge_base": "kb", "username": "u",
             "password_env": "P", "token_env": "T"},
            "set either username and password_env, or token_env",
        ),
        (
            {"instance_url": "not a url", "knowledge_base": "kb", "token": "t"},
            "servicenow.instance_url\n",
        ),
    ],
    ids=["no credential", "a user without password", "both credentials", "a bad url"],
)  # fmt: skip
def test_bad_destination_settings_are_clear(
    config: GatewayConfig, table: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        knowledge_config(config, servicenow=table)
