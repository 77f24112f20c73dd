"""The chat entries of one gateway, built from ``[chat]`` and the gateway's services."""

from __future__ import annotations

import httpx

from gateway.approvals.model import ApprovalRequest
from gateway.approvals.notices import approval_notice
from gateway.chat.people import PersonMap
from gateway.chat.settings import ChatSettings
from gateway.chat.slack import SlackChat
from gateway.chat.slack_api import SlackWebApi
from gateway.chat.teams import TeamsChat
from gateway.chat.teams_auth import BotFrameworkTokens
from gateway.chat.votes import ChatVotes, Finished
from gateway.enforcement.point import EnforcementPoint
from gateway.notify.model import NotificationKind
from gateway.notify.reliable import ReliableNotifier
from gateway.runtime.executor import Executor
from gateway.selfservice.service import SelfService

__all__ = ["ChatEntries", "open_chat", "tell_finished"]

_OUTCOME = {"approved": NotificationKind.APPROVED, "rejected": NotificationKind.DENIED}


class ChatEntries:
    """The configured platforms (``None`` when off); close when done."""

    def __init__(self, slack: SlackChat | None, teams: TeamsChat | None = None) -> None:
        self.slack = slack
        self.teams = teams

    def close(self) -> None:
        if self.slack is not None:
            self.slack.api.close()
        if self.teams is not None:
            self.teams.tokens.close()


def tell_finished(notifier: ReliableNotifier | None, runtime: Executor | None) -> Finished:
    """What the HTTP API does after the vote that finished a request: the requester is
    told, and the execution waiting for the approval goes on."""

    def finished(item: ApprovalRequest, voter: str) -> None:
        outcome = _OUTCOME.get(str(item.state))
        if outcome is None:
            return
        if notifier is not None:
            notifier.send(approval_notice(outcome, item, (item.requester,)))
        execution_id = runtime.execution_for_approval(item.id) if runtime is not None else None
        if runtime is not None and execution_id is not None:
            runtime.wake(execution_id)

    return finished


def open_chat(
    settings: ChatSettings,
    gateway: EnforcementPoint,
    *,
    selfservice: SelfService | None = None,
    notifier: ReliableNotifier | None = None,
    runtime: Executor | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ChatEntries:
    """Build each configured platform; secrets are read from the environment here."""
    audit = gateway.audit.append if gateway.audit is not None else None

    votes = None
    if gateway.approvals is not None:
        votes = ChatVotes(
            gateway.approvals, gateway.stepup, audit, tell_finished(notifier, runtime)
        )
    slack = None
    if settings.slack is not None:
        config = settings.slack.with_secrets("chat.slack")
        api = SlackWebApi(
            config.api_url, config.token, timeout=config.timeout_seconds, transport=transport
        )
        email_of = (lambda user: api.user(user).email) if config.email_lookup else None
        people = PersonMap("Slack", gateway.directory, config.users, email_of)
        slack = SlackChat(config, api, people, votes, selfservice, audit)
    teams = None
    if settings.teams is not None:
        tokens = BotFrameworkTokens(settings.teams, transport=transport)
        teams = TeamsChat(tokens, settings.teams.users, votes, audit)
    return ChatEntries(slack, teams)
