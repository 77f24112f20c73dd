"""Slack interactivity and the slash command, after the request signature.

``interaction`` takes the ``application/x-www-form-urlencoded`` body Slack posts (one
field, ``payload``, holding JSON; "Handling user interaction", api.slack.com/interactivity/
handling):

- ``block_actions`` from an approval message (``approval.approve`` / ``approval.reject``,
  value ``<approval id> <digest>``): the vote of the mapped person; the message is
  replaced with the outcome through ``response_url``; a refusal that concerns the voter
  only (not eligible, the requester) is told to them alone (ephemeral).  When policy wants
  a step-up, a modal (``views.open`` with the ``trigger_id``) asks for the code;
- ``block_actions`` ``catalog.open`` (value: an item id): the item's modal;
- ``view_submission`` of ``approval.step_up`` (the code, then the vote) or of
  ``catalog.run`` (the form's values, checked against the item's schema, then the run).

``command`` takes the slash command's form fields (``command``, ``text``, ``user_id``,
``trigger_id``, ``response_url``): no text lists the items the person may see, an item id
opens its modal.  Everything is audited (``chat.interaction_accepted`` /
``chat.interaction_refused``); the catalog and the approval service audit what they do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from gateway.approvals.model import Verdict
from gateway.audit.sink import AuditSink, record_first
from gateway.chat.answer import ChatAnswer
from gateway.chat.blocks import decision_blocks
from gateway.chat.errors import ChatRefusedError
from gateway.chat.forms import catalog_modal, has_secrets, submitted_values, text_view
from gateway.chat.people import PersonMap
from gateway.chat.settings import SlackChatSettings
from gateway.chat.signing import ReplayGuard, verify_slack_request
from gateway.chat.slack_api import SlackWebApi
from gateway.chat.votes import ChatVotes, VoteOutcome, accepted_event, refused_event
from gateway.errors import GatewayError
from gateway.notify.slack import APPROVE_ACTION, REJECT_ACTION
from gateway.runtime.errors import ParameterError
from gateway.selfservice.errors import SelfServiceError
from gateway.selfservice.schema import check_submission, item_schema
from gateway.selfservice.service import SelfService
from gateway.stepup.errors import StepUpError

__all__ = ["SlackChat"]

PLATFORM = "slack"
OPEN_ITEM = "catalog.open"
STEP_UP = "approval.step_up"
RUN_ITEM = "catalog.run"
_PERSONAL = frozenset({"self_approval", "not_eligible", "not_authorised", "conflicting_vote"})


def _form(body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise ChatRefusedError("bad_payload", "the body is not a form", status=400) from None
    return {name: values[0] for name, values in fields.items()}


def _payload(body: bytes) -> dict[str, Any]:
    raw = _form(body).get("payload")
    try:
        found = json.loads(raw) if raw is not None else None
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise ChatRefusedError("bad_payload", "the form has no JSON payload", status=400)
    return found


def _str(data: Mapping[str, Any], *path: str) -> str:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value:
        raise ChatRefusedError("bad_payload", f"the payload has no {'.'.join(path)}", status=400)
    return value


class SlackChat:
    def __init__(
        self,
        settings: SlackChatSettings,
        api: SlackWebApi,
        people: PersonMap,
        votes: ChatVotes | None,
        catalog: SelfService | None,
        audit: AuditSink | None,
        *,
        now: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        secret = settings.signing_secret
        if secret is None:
            raise RuntimeError("build SlackChat from settings.with_secrets(...)")
        self._secret = secret
        self._settings = settings
        self.api = api
        self._people = people
        self._votes = votes
        self.catalog = catalog
        self._audit = audit
        self._now = now
        self._replays = ReplayGuard(settings.max_age_seconds * 2, monotonic)

    # -- the two entries -----------------------------------------------------------------

    def interaction(self, headers: Mapping[str, str], body: bytes) -> ChatAnswer:
        payload: dict[str, Any] | None = None
        try:
            self._verify(headers, body)
            payload = _payload(body)
            kind = payload.get("type")
            user = _str(payload, "user", "id")
            if kind == "block_actions":
                return self._action(payload, user)
            if kind == "view_submission":
                return self._submission(payload, user)
            raise ChatRefusedError("bad_payload", f"{str(kind)[:40]} is not handled", status=400)
        except ChatRefusedError as exc:
            return self._refused(exc, payload)

    def command(self, headers: Mapping[str, str], body: bytes) -> ChatAnswer:
        try:
            self._verify(headers, body)
            fields = _form(body)
            user = _str(fields, "user_id")
            if fields.get("command") != self._settings.command:
                raise ChatRefusedError("bad_payload", "not the configured command", status=400)
            person = self._people.person(user)
            text = fields.get("text", "").strip()
            return self._run_command(person, text, fields)
        except ChatRefusedError as exc:
            return self._refused(exc, None)

    # -- checks and refusals -------------------------------------------------------------

    def _verify(self, headers: Mapping[str, str], body: bytes) -> None:
        signature = verify_slack_request(
            self._secret, headers, body, self._now(), self._settings.max_age_seconds
        )
        self._replays.admit(signature)

    def _refused(self, error: ChatRefusedError, payload: dict[str, Any] | None) -> ChatAnswer:
        record_first(self._audit, refused_event(PLATFORM, error.reason, str(error)))
        answer = ChatAnswer(status=error.status if error.reason != "unmapped_user" else 200)
        answer.body = {"response_type": "ephemeral", "text": f"Refused: {error}"}
        if error.reason == "unmapped_user" and payload is not None:
            url = payload.get("response_url")
            if isinstance(url, str):
                answer.body = None
                say = {
                    "response_type": "ephemeral",
                    "replace_original": False,
                    "text": f"Refused: {error}",
                }
                answer.later.append(lambda: self.api.respond(url, say))
        return answer

    # -- block actions -------------------------------------------------------------------

    def _action(self, payload: dict[str, Any], user: str) -> ChatAnswer:
        actions = payload.get("actions")
        action = actions[0] if isinstance(actions, list) and actions else None
        if not isinstance(action, dict):
            raise ChatRefusedError("bad_payload", "the payload has no action", status=400)
        action_id = _str(action, "action_id")
        value = _str(action, "value")
        person = self._people.person(user)
        if action_id == OPEN_ITEM:
            return self._open_item(person, value, _str(payload, "trigger_id"))
        if action_id not in (APPROVE_ACTION, REJECT_ACTION) or self._votes is None:
            raise ChatRefusedError("bad_payload", f"{action_id[:40]} is not handled", status=400)
        approval_id, _, digest = value.partition(" ")
        verdict = Verdict.APPROVE if action_id == APPROVE_ACTION else Verdict.REJECT
        response_url = _str(payload, "response_url")
        outcome = self._votes.cast(PLATFORM, person, approval_id, digest, verdict)
        if outcome.needs_step_up:
            modal = _step_up_modal(approval_id, digest, verdict, response_url)
            self.api.open_view(_str(payload, "trigger_id"), modal)
            return ChatAnswer()
        return self._tell(outcome, person, response_url)

    def _tell(self, outcome: VoteOutcome, person: str, response_url: str) -> ChatAnswer:
        text = outcome.text(person)
        refused = outcome.refused
        if refused is not None and getattr(refused, "reason", "") in _PERSONAL:
            say: dict[str, Any] = {
                "response_type": "ephemeral",
                "replace_original": False,
                "text": text,
            }
        else:
            item = outcome.item
            if item is None and self._votes is not None and outcome.stale:
                item = self._votes.approvals.get(getattr(refused, "request_id", ""))
            blocks = decision_blocks(item, text) if item is not None else []
            say = {"replace_original": True, "text": text, "blocks": blocks}
        answer = ChatAnswer()
        answer.later.append(lambda: self.api.respond(response_url, say))
        return answer

    # -- the catalog ---------------------------------------------------------------------

    def _run_command(self, person: str, text: str, fields: Mapping[str, str]) -> ChatAnswer:
        if self.catalog is None:
            return ChatAnswer(body={"response_type": "ephemeral", "text": "No catalog here."})
        record_first(
            self._audit, accepted_event(PLATFORM, person, "command", "catalog:*", text=text[:100])
        )
        if text in ("", "list", "help"):
            items = self.catalog.browser.browse(person)
            blocks = [
                _item_block(i.id, i.definition.title, i.definition.description) for i in items[:40]
            ]
            listed = ", ".join(i.id for i in items) or "none"
            return ChatAnswer(
                body={
                    "response_type": "ephemeral",
                    "text": f"Catalog items you may run: {listed}",
                    "blocks": blocks,
                }
            )
        item_id = text.removeprefix("run ").strip()
        trigger = fields.get("trigger_id", "")
        return self._open_item(person, item_id, trigger)

    def _open_item(self, person: str, item_id: str, trigger_id: str) -> ChatAnswer:
        catalog = self.catalog
        if catalog is None:
            return ChatAnswer(body={"response_type": "ephemeral", "text": "No catalog here."})
        try:
            item = catalog.browser.show(person, item_id[:64])
        except SelfServiceError as exc:
            return ChatAnswer(body={"response_type": "ephemeral", "text": str(exc)})
        schema = item_schema(item, catalog.browser.choices(person, item))
        if has_secrets(schema):
            text = f"{item.id} asks for a secret; run it from the gateway, not from chat"
            return ChatAnswer(body={"response_type": "ephemeral", "text": text})
        self.api.open_view(trigger_id, catalog_modal(item.id, item.definition.title, schema))
        return ChatAnswer()

    # -- view submissions ----------------------------------------------------------------

    def _submission(self, payload: dict[str, Any], user: str) -> ChatAnswer:
        view = payload.get("view")
        if not isinstance(view, dict):
            raise ChatRefusedError("bad_payload", "the payload has no view", status=400)
        callback = _str(view, "callback_id")
        person = self._people.person(user)
        if callback == STEP_UP and self._votes is not None:
            return self._step_up(person, view)
        if callback == RUN_ITEM:
            return self._run_item(person, view)
        raise ChatRefusedError("bad_payload", f"{callback[:40]} is not handled", status=400)

    def _step_up(self, person: str, view: dict[str, Any]) -> ChatAnswer:
        votes = self._votes
        if votes is None:  # pragma: no cover - checked by the caller
            raise RuntimeError("no approvals")
        try:
            meta = json.loads(_str(view, "private_metadata"))
            approval_id, digest = str(meta["approval_id"]), str(meta["digest"])
            verdict, response_url = Verdict(meta["verdict"]), str(meta["response_url"])
        except (ValueError, KeyError, TypeError):
            raise ChatRefusedError(
                "bad_payload", "the modal lost its request", status=400
            ) from None
        code = submitted_values({}, _state(view)).get("code")
        outcome = votes.cast(PLATFORM, person, approval_id, digest, verdict, code=str(code or ""))
        if outcome.needs_step_up or isinstance(outcome.refused, StepUpError):
            return ChatAnswer(
                body={"response_action": "errors", "errors": {"code": str(outcome.refused)[:150]}}
            )
        answer = self._tell(outcome, person, response_url)
        answer.body = {"response_action": "clear"}
        return answer

    def _run_item(self, person: str, view: dict[str, Any]) -> ChatAnswer:
        catalog = self.catalog
        item_id = _str(view, "private_metadata")
        if catalog is None:
            raise ChatRefusedError("bad_payload", "no catalog here", status=400)
        try:
            item = catalog.browser.show(person, item_id[:64])
            schema = item_schema(item, catalog.browser.choices(person, item))
            values = submitted_values(schema, _state(view))
            check_submission(schema, values, f"catalog item {item.id}")
        except ParameterError as exc:
            record_first(
                self._audit,
                refused_event(
                    PLATFORM, "invalid_parameters", str(exc), person=person, item=item_id[:64]
                ),
            )
            return _field_errors(exc)
        except SelfServiceError as exc:
            return ChatAnswer(
                body={"response_action": "update", "view": text_view("Not available", str(exc))}
            )
        record_first(
            self._audit, accepted_event(PLATFORM, person, "catalog_run", f"catalog_item:{item.id}")
        )
        key = f"slack-view-{_str(view, 'id')}"[:128]
        try:
            run = catalog.run(person, item.id, values, idempotency_key=key, background=True)
        except GatewayError as exc:  # refused by a guardrail or the policy: said and audited
            return ChatAnswer(
                body={"response_action": "update", "view": text_view("Refused", str(exc))}
            )
        text = f"*{item.definition.title}*: run `{run.id}` is {run.status or run.state}."
        return ChatAnswer(body={"response_action": "update", "view": text_view("Started", text)})


def _field_errors(error: ParameterError) -> ChatAnswer:
    errors = {name: why[:150] for name, why in error.problems.items()}
    return ChatAnswer(body={"response_action": "errors", "errors": errors})


def _state(view: dict[str, Any]) -> object:
    state = view.get("state")
    return state.get("values") if isinstance(state, dict) else None


def _item_block(item_id: str, title: str, description: str) -> dict[str, Any]:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"*{title}*\n{description[:200]}"},
        "accessory": {
            "type": "button",
            "action_id": OPEN_ITEM,
            "value": item_id,
            "text": {"type": "plain_text", "text": "Run"},
        },
    }


def _step_up_modal(
    approval_id: str, digest: str, verdict: Verdict, response_url: str
) -> dict[str, Any]:
    meta = {
        "approval_id": approval_id,
        "digest": digest,
        "verdict": str(verdict),
        "response_url": response_url,
    }
    return {
        "type": "modal",
        "callback_id": STEP_UP,
        "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": "Confirm it is you"},
        "submit": {"type": "plain_text", "text": str(verdict).capitalize()},
        "blocks": [
            {
                "type": "input",
                "block_id": "code",
                "label": {"type": "plain_text", "text": "Code from your authenticator app"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "min_length": 6,
                    "max_length": 8,
                },
            }
        ],
    }
