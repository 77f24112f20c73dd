"""Chat entries: Slack and Microsoft Teams, where approvers and requesters already are.

Each request from a platform is verified first (Slack's request signature, the Bot
Framework's bearer token), the platform user is mapped to one directory person, and the
action goes through the very services the HTTP API and the command line use: votes through
the approval service (eligibility, separation of duties, digest binding, quorum, step-up),
catalog runs through the self-service catalog (its form, guardrails, decision and audit).
Every accepted or refused interaction is audited (``chat.interaction_accepted``,
``chat.interaction_refused``); no signing secret, token or code is ever written.
"""

from gateway.chat.errors import ChatRefusedError
from gateway.chat.settings import ChatSettings, SlackChatSettings, TeamsChatSettings

__all__ = ["ChatRefusedError", "ChatSettings", "SlackChatSettings", "TeamsChatSettings"]
