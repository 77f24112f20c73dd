"""The knowledge routes of the HTTP API: search, suggestions for ticket intake, articles."""

from __future__ import annotations

from gateway.knowledge.trail import Trail, TrailKind
from tests.api.conftest import MakeApi


def test_search_suggest_and_read_articles(make_api: MakeApi) -> None:
    api = make_api()
    headers = api.as_service("knowledge:read")
    base = api.services.knowledge
    assert base is not None
    trail = Trail(
        kind=TrailKind.EXECUTION,
        subject="e1",
        title="VPN drops with error 809",
        category="vpn",
        executions=("e1",),
        symptoms=("vpn drops",),
    )
    article = base.record(trail).article.id

    found = api.client.get("/v1/knowledge/search?q=error 809", headers=headers).json()
    assert [hit["id"] for hit in found] == [article]
    suggested = api.client.post(
        "/v1/knowledge/suggestions", json={"text": "my vpn drops"}, headers=headers
    ).json()
    assert suggested[0]["id"] == article
    assert suggested[0]["version"] == 1
    shown = api.client.get(f"/v1/knowledge/articles/{article}", headers=headers).json()
    assert shown["document"]["title"] == "VPN drops with error 809"
    assert shown["markdown"].startswith("# VPN drops with error 809")
    missing = api.client.get("/v1/knowledge/articles/nope", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "unknown article 'nope'"
    refused = api.client.get("/v1/knowledge/search?q=x", headers=api.as_service("audit:read"))
    assert refused.status_code == 403


def test_a_gateway_without_a_knowledge_base_says_so(make_api: MakeApi) -> None:
    api = make_api()
    base = api.services.knowledge
    api.services.knowledge = None
    try:
        answer = api.client.get(
            "/v1/knowledge/search?q=vpn", headers=api.as_service("knowledge:read")
        )
    finally:
        api.services.knowledge = base
    assert answer.status_code == 404
    assert answer.json()["detail"] == "this gateway has no knowledge base"
