"""Notifications to people (approvals, expiries, escalations) behind one ``Notifier``.

Channels: ``FileNotifier`` (embedded default, JSON lines), ``SlackNotifier`` (incoming
webhook or ``chat.postMessage``), ``TeamsNotifier`` (incoming webhook, Adaptive Card or
MessageCard) and ``SmtpNotifier`` (e-mail).  ``ReliableNotifier`` wraps any of them with a
durable ``Outbox`` so that a failed notification never loses or blocks an approval.
"""

from gateway.http import RetryPolicy
from gateway.notify.errors import NotificationError
from gateway.notify.file import FileNotifier
from gateway.notify.model import Notification, NotificationKind
from gateway.notify.notifier import Notifier
from gateway.notify.outbox import Outbox, PendingNotification
from gateway.notify.reliable import FlushReport, ReliableNotifier
from gateway.notify.slack import SlackBotSettings, SlackNotifier, SlackWebhookSettings
from gateway.notify.smtp import SmtpNotifier, SmtpSettings
from gateway.notify.teams import TeamsNotifier, TeamsSettings

__all__ = [
    "FileNotifier",
    "FlushReport",
    "Notification",
    "NotificationError",
    "NotificationKind",
    "Notifier",
    "Outbox",
    "PendingNotification",
    "ReliableNotifier",
    "RetryPolicy",
    "SlackBotSettings",
    "SlackNotifier",
    "SlackWebhookSettings",
    "SmtpNotifier",
    "SmtpSettings",
    "TeamsNotifier",
    "TeamsSettings",
]
