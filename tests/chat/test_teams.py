"""Approving and rejecting from a Teams card: the Bot Framework token, then the vote."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.approvals.model import ApprovalRequest, ApprovalState
from gateway.chat.service import open_chat
from gateway.config import load_config
from gateway.errors import ConfigError
from tests.api.conftest import Api, build_api
from tests.api.test_approvals import open_grant
from tests.chat.teams_server import APP_ID, KeyStandIn, execute, new_key, running_keys

ACTIVITIES = "/v1/chat/teams/activities"
PRIYA_AAD = "6f1e4c52-8d3b-4a0e-9c57-2b1d0e9a7f31"  # AAD object ids, as Teams sends them
GRACE_AAD = "0b9d7a34-51c2-4e8f-a6d3-7c8e2f4b9a10"


@pytest.fixture
def keys() -> Iterator[KeyStandIn]:
    with running_keys() as stand_in:
        yield stand_in


@pytest.fixture
def api(tmp_path: Path, keys: KeyStandIn) -> Iterator[Api]:
    made = build_api(tmp_path, f"""
[chat.teams]
app_id = "{APP_ID}"
jwks_url = "{keys.jwks_url}"
users = {{ "{PRIYA_AAD}" = "priya", "{GRACE_AAD}" = "grace" }}
""")  # fmt: skip
    made.services.chat = open_chat(made.config.chat, made.gateway)
    yield made
    made.close()


def send(api: Api, activity: dict[str, Any], token: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return api.client.post(ACTIVITIES, content=json.dumps(activity).encode(), headers=headers)


def vote(item: ApprovalRequest, aad: str, verb: str) -> dict[str, Any]:
    return execute(aad, verb, {"approval_id": item.id, "digest": item.digest})


def state(api: Api, item: ApprovalRequest) -> ApprovalState:
    assert api.gateway.approvals is not None
    return api.gateway.approvals.get(item.id).state


def test_the_manager_rejects_from_the_card_and_gets_the_refreshed_card(
    api: Api, keys: KeyStandIn
) -> None:
    item = open_grant(api)

    answer = send(api, vote(item, PRIYA_AAD, "reject"), keys.token())

    assert answer.status_code == 200
    shown = answer.json()
    assert (shown["statusCode"], shown["type"]) == (200, "application/vnd.microsoft.card.adaptive")
    assert shown["value"]["body"][1]["text"] == "Rejected by priya"
    assert "actions" not in shown["value"]
    assert state(api, item) is ApprovalState.REJECTED
    (accepted,) = api.audited("chat.interaction_accepted")
    assert accepted.payload["platform"] == "teams"


def test_a_token_for_another_audience_is_refused(api: Api, keys: KeyStandIn) -> None:
    item = open_grant(api)

    answer = send(api, vote(item, PRIYA_AAD, "approve"), keys.token(aud="another-bot"))

    assert answer.status_code == 401
    assert answer.json()["error"] == "the token is for another audience"
    assert state(api, item) is ApprovalState.PENDING
    (refused,) = api.audited("chat.interaction_refused")
    assert refused.payload["reason"] == "bad_token"


BAD_TOKENS = {
    "no token at all": (None, "unsigned"),
    "a token that is no JWT": ("not-a-jwt", "bad_token"),
    "a token of another issuer": ({"iss": "https://login.example"}, "bad_token"),
    "an expired token": ({"exp": int(time.time()) - 3600}, "expired"),
    "a token for another service URL": ({"serviceurl": "https://elsewhere/"}, "bad_token"),
    "a token signed by an unknown key": ("unknown-key", "bad_token"),
    "a token without a key id": ("no-kid", "bad_token"),
    "a token without an expiry": ({"exp": None}, "bad_token"),
}


@pytest.mark.parametrize("case", BAD_TOKENS.values(), ids=list(BAD_TOKENS))
def test_a_bad_token_is_refused_audited_and_changes_nothing(
    api: Api, keys: KeyStandIn, case: tuple[Any, str]
) -> None:
    import jwt

    item = open_grant(api)
    given, reason = case
    if isinstance(given, dict):
        claims = {k: v for k, v in given.items() if v is not None}
        token = keys.token(**claims)
        if given.get("exp", 0) is None:
            claims = {"iss": "https://api.botframework.com", "aud": APP_ID}
            token = jwt.encode(claims, keys.keys["k1"], algorithm="RS256", headers={"kid": "k1"})
    elif given == "unknown-key":
        keys.keys["k2"] = new_key()
        token = keys.token("k2")
        del keys.keys["k2"]
    elif given == "no-kid":
        token = jwt.encode({"aud": APP_ID}, keys.keys["k1"], algorithm="RS256")
    else:
        token = given

    answer = send(api, vote(item, PRIYA_AAD, "approve"), token)

    assert answer.status_code == 401
    assert state(api, item) is ApprovalState.PENDING
    assert api.audited("chat.interaction_refused")[0].payload["reason"] == reason


def test_keys_are_fetched_once_and_again_for_a_new_key(api: Api, keys: KeyStandIn) -> None:
    first, second = open_grant(api), open_grant(api)
    send(api, vote(first, GRACE_AAD, "approve"), keys.token())
    send(api, vote(first, GRACE_AAD, "reject"), keys.token())
    assert keys.fetches == 1
    keys.keys["k2"] = new_key()  # a rotation: a new key id fetches the set again

    answer = send(api, vote(second, PRIYA_AAD, "approve"), keys.token("k2"))

    assert answer.status_code == 200
    assert keys.fetches == 2


def test_someone_not_eligible_and_an_unmapped_user_are_told_on_the_card(
    api: Api, keys: KeyStandIn
) -> None:
    item = open_grant(api)

    grace = send(api, vote(item, GRACE_AAD, "approve"), keys.token()).json()
    unknown = "9a8b7c6d-0000-4000-8000-000000000001"
    nobody = send(api, vote(item, unknown, "approve"), keys.token()).json()

    assert "is not an approver" in grace["value"]["body"][1]["text"]
    assert "is not mapped to a directory person" in nobody["value"]["body"][0]["text"]
    assert state(api, item) is ApprovalState.PENDING
    reasons = [r.payload["reason"] for r in api.audited("chat.interaction_refused")]
    assert reasons == ["unmapped_user"]


def test_a_stale_card_shows_the_request_as_it_is(api: Api, keys: KeyStandIn) -> None:
    item = open_grant(api)
    send(api, vote(item, PRIYA_AAD, "approve"), keys.token())

    again = send(api, vote(item, PRIYA_AAD, "reject"), keys.token()).json()

    assert "expected pending, found approved" in again["value"]["body"][1]["text"]
    assert state(api, item) is ApprovalState.APPROVED


def test_other_activities_are_taken_and_ignored(api: Api, keys: KeyStandIn) -> None:
    message = {
        "type": "message",
        "text": "hello",
        "serviceUrl": "https://smba.trafficmanager.net/amer/",
    }
    assert send(api, message, keys.token()).status_code == 200
    bad = execute(PRIYA_AAD, "delete", {})
    assert send(api, bad, keys.token()).status_code == 400
    assert api.audited("chat.interaction_refused")[0].payload["reason"] == "bad_payload"
    assert send(api, [], keys.token()).status_code == 400  # type: ignore[arg-type]


def test_an_activity_that_is_not_json_and_a_vote_on_no_request(api: Api, keys: KeyStandIn) -> None:
    headers = {"Authorization": f"Bearer {keys.token()}", "Content-Type": "application/json"}
    assert api.client.post(ACTIVITIES, content=b"{oops", headers=headers).status_code == 400
    unknown = execute(PRIYA_AAD, "approve", {"approval_id": "nothing", "digest": "x"})
    shown = send(api, unknown, keys.token()).json()
    assert "unknown request" in shown["value"]["body"][0]["text"]


def test_without_teams_the_route_is_not_there(tmp_path: Path) -> None:
    made = build_api(tmp_path)
    try:
        assert made.client.post(ACTIVITIES, content=b"{}").status_code == 404
    finally:
        made.close()


def test_a_person_mapped_by_an_upper_case_object_id_votes_as_teams_sends_it(
    tmp_path: Path, keys: KeyStandIn
) -> None:
    made = build_api(tmp_path, f"""
[chat.teams]
app_id = "{APP_ID}"
jwks_url = "{keys.jwks_url}"
users = {{ "{PRIYA_AAD.upper()}" = "priya" }}
""")  # fmt: skip
    made.services.chat = open_chat(made.config.chat, made.gateway)
    try:
        item = open_grant(made)

        shown = send(made, vote(item, PRIYA_AAD, "approve"), keys.token()).json()

        assert shown["value"]["body"][1]["text"] == "Approved by priya"
        assert state(made, item) is ApprovalState.APPROVED
    finally:
        made.close()


@pytest.mark.parametrize(
    "key",
    ["priya@example.com", "29:1abcdef", "aad-0000-priya"],
    ids=["a UPN", "a Teams user id", "no object id at all"],
)
def test_users_keyed_by_anything_but_an_aad_object_id_are_refused_in_the_configuration(
    tmp_path: Path, key: str
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'[chat.teams]\napp_id = "{APP_ID}"\nusers = {{ "{key}" = "priya" }}\n',
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as raised:
        load_config(path)

    message = str(raised.value)
    assert "chat.teams.users" in message
    assert f"{key!r} is not an AAD object id" in message
    assert "from.aadObjectId" in message
