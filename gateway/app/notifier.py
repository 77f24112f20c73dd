"""The one notifier of a process: the configured channel behind a durable outbox."""

from __future__ import annotations

from gateway.config import NotificationsConfig
from gateway.errors import ConfigError
from gateway.notify.outbox import Outbox
from gateway.notify.reliable import ReliableNotifier
from gateway.storage import Backend

__all__ = ["build_notifier"]


def build_notifier(config: NotificationsConfig, storage: Backend | None = None) -> ReliableNotifier:
    """The configured channel behind a durable outbox (on ``storage``, shared by every
    process on PostgreSQL; its own SQLite file when not given): a failed notification is
    kept and retried by ``flush``, never lost and never in the way of an approval.  The
    channel's secret is read from the environment here."""
    from gateway.notify import (
        FileNotifier,
        Notifier,
        SlackNotifier,
        SmtpNotifier,
        SmtpSettings,
        TeamsNotifier,
        TeamsSettings,
    )

    channel = config.channel
    notifier: Notifier
    if channel == "file":
        return ReliableNotifier(FileNotifier(config.file), Outbox(config.outbox, backend=storage))
    tables = {
        "slack_webhook": config.slack_webhook,
        "slack_bot": config.slack_bot,
        "teams": config.teams,
        "smtp": config.smtp,
    }
    table = tables[channel]
    if table is None:  # a configuration built without validation
        raise ConfigError(f"notifications: channel {channel!r} needs a table")
    settings = table.with_secrets(f"notifications.{channel}")
    if isinstance(settings, SmtpSettings):
        notifier = SmtpNotifier(settings)
    elif isinstance(settings, TeamsSettings):
        notifier = TeamsNotifier(settings)
    else:
        notifier = SlackNotifier(settings)
    return ReliableNotifier(notifier, Outbox(config.outbox, backend=storage))
