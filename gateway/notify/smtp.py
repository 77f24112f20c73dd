"""Notifications by e-mail over SMTP (``smtplib``), one plain-text message per notification.

Recipients are the notification's e-mail addresses, or ``default_recipients`` when it has
none.  ``starttls`` upgrades the connection before ``login`` (which is skipped without a
``username``); ``ssl_context`` replaces the default verifying context (tests trust their own
certificate with it).  Connection failures and 4xx answers are retried with exponential
backoff; a refused login or 5xx answer is final.  The password never appears in an error.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from gateway.http import RetryPolicy
from gateway.notify.errors import NotificationError
from gateway.notify.model import Notification
from gateway.notify.settings import SmtpSettings

__all__ = ["SmtpNotifier", "SmtpSettings", "email_message"]


def email_message(notification: Notification, sender: str, recipients: tuple[str, ...],
                  subject_prefix: str = "") -> EmailMessage:  # fmt: skip
    """The plain-text message: the text, then the fields and the link."""
    lines = [notification.text, ""]
    lines.extend(f"{name}: {value}" for name, value in notification.fields.items())
    if notification.link:
        lines.append(f"Link: {notification.link}")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = " ".join((subject_prefix + notification.title).split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=notification.id)
    message["X-Gateway-Notification"] = f"{notification.kind.value} {notification.id}"
    message.set_content("\n".join(lines).rstrip() + "\n")
    return message


class SmtpNotifier:
    """A ``Notifier`` that sends e-mail; a new SMTP connection per notification."""

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        retry: RetryPolicy | None = None,
        ssl_context: ssl.SSLContext | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._retry = retry or RetryPolicy()
        self._context = ssl_context
        self._sleep = sleep
        self._where = f"SMTP at {settings.host}:{settings.port}"

    def __repr__(self) -> str:
        return f"SmtpNotifier({self._where!r})"

    def send(self, notification: Notification) -> None:
        settings = self._settings
        recipients = notification.recipients or settings.default_recipients
        if not recipients:
            raise NotificationError(f"{self._where}: no recipients", retryable=False)
        try:
            message = email_message(
                notification, settings.sender, recipients, settings.subject_prefix
            )
        except ValueError as exc:  # a line break in an address: no header injection
            raise NotificationError(
                f"{self._where}: cannot build the message: {exc}", retryable=False
            ) from None
        attempt = 0
        while True:
            try:
                self._deliver(message, recipients)
                return
            except NotificationError as error:
                if not error.retryable or attempt >= self._retry.max_retries:
                    raise NotificationError(
                        f"{error}; gave up after {attempt + 1} attempts",
                        retryable=error.retryable,
                    ) from None
                self._sleep(self._retry.wait(attempt))
                attempt += 1

    def _deliver(self, message: EmailMessage, recipients: tuple[str, ...]) -> None:
        settings = self._settings
        try:
            with smtplib.SMTP(
                settings.host, settings.port, timeout=settings.timeout_seconds
            ) as smtp:
                if settings.starttls:
                    smtp.starttls(context=self._context or ssl.create_default_context())
                if settings.username is not None:
                    self._login(smtp, settings.username)
                smtp.send_message(message, to_addrs=list(recipients))
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(sorted(exc.recipients))
            raise NotificationError(
                f"{self._where}: recipients refused: {refused}", retryable=False
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise NotificationError(
                f"{self._where}: {type(exc).__name__} {exc.smtp_code}",
                retryable=400 <= exc.smtp_code < 500,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NotificationError(
                f"{self._where}: cannot deliver ({type(exc).__name__})"
            ) from None

    def _login(self, smtp: smtplib.SMTP, username: str) -> None:
        password = self._settings.password
        try:
            smtp.login(username, password.get_secret_value() if password else "")
        except smtplib.SMTPAuthenticationError as exc:
            raise NotificationError(
                f"{self._where}: login as {username!r} refused (SMTP {exc.smtp_code})",
                retryable=False,
            ) from None
