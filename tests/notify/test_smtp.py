"""E-mail through a real SMTP server (aiosmtpd) on loopback, with STARTTLS and login."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.notify import (
    Notification,
    NotificationError,
    NotificationKind,
    RetryPolicy,
    SmtpNotifier,
    SmtpSettings,
)

USER, PASSWORD = "gateway", "s3cret-smtp-passw0rd"
NOTE = Notification(
    kind=NotificationKind.APPROVED,
    title="Approved: reset password for bob",
    text="carol approved the request.",
    recipients=("alice@example.com", "bob@example.com"),
    link="https://gateway.example/approvals/42",
    fields={"ticket": "INC0012", "new_password": "hunter2"},
)


@dataclass
class Mailbox:
    """The aiosmtpd handler: keeps what arrived; ``defer``/``refuse`` switch failures on."""

    received: list[tuple[Envelope, Message]] = field(default_factory=list)
    defer: int = 0  # answer the next DATA commands with 451
    refuse: set[str] = field(default_factory=set)  # RCPT TO answered with 550

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.defer:
            self.defer -= 1
            return "451 4.3.0 try again later"
        content = envelope.content
        assert isinstance(content, bytes)
        self.received.append((envelope, message_from_bytes(content)))
        return "250 Message accepted"


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Certificate:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 that the client context trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    return Certificate(server, ssl.create_default_context(cafile=str(cert_file)))


@dataclass
class Running:
    mailbox: Mailbox
    port: int


@pytest.fixture
def smtpd(certificate: Certificate) -> Iterator[Running]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=certificate.server,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield Running(mailbox, port)
    finally:
        controller.stop()


def notifier(
    port: int, certificate: Certificate | None, waits: list[float] | None = None, **extra: Any
) -> SmtpNotifier:
    data: dict[str, Any] = {"host": "127.0.0.1", "port": port, "sender": "gateway@example.com"}
    data.update({"starttls": False, **extra})
    return SmtpNotifier(
        SmtpSettings.model_validate(data),
        ssl_context=certificate.client if certificate else None,
        retry=RetryPolicy(max_retries=2),
        sleep=(waits if waits is not None else []).append,
    )


def test_a_plain_message_arrives_with_headers_and_body(smtpd: Running) -> None:
    notifier(smtpd.port, None).send(NOTE)
    [(envelope, message)] = smtpd.mailbox.received
    assert envelope.mail_from == "gateway@example.com"
    assert envelope.rcpt_tos == ["alice@example.com", "bob@example.com"]
    assert message["From"] == "gateway@example.com"
    assert message["To"] == "alice@example.com, bob@example.com"
    assert message["Subject"] == "[IT gateway] Approved: reset password for bob"
    assert message["X-Gateway-Notification"] == f"approved {NOTE.id}"
    assert NOTE.id in message["Message-ID"]
    assert message.get_content_type() == "text/plain"
    assert body(message).replace("\r\n", "\n") == (
        "carol approved the request.\n\n"
        "ticket: INC0012\n"
        "new_password: [redacted]\n"
        "Link: https://gateway.example/approvals/42\n"
    )


def test_starttls_and_login_deliver(smtpd: Running, certificate: Certificate) -> None:
    note = Notification(kind=NotificationKind.EXPIRED, title="Expired", text="Request 42 expired.")
    sender = notifier(smtpd.port, certificate, starttls=True, username=USER, password=PASSWORD,
                      default_recipients=("helpdesk@example.com",), subject_prefix="")  # fmt: skip
    sender.send(note)
    [(envelope, message)] = smtpd.mailbox.received
    assert envelope.rcpt_tos == ["helpdesk@example.com"]
    assert message["Subject"] == "Expired"
    assert body(message) == "Request 42 expired.\r\n"
    assert PASSWORD not in repr(sender)
    assert PASSWORD not in repr(sender._settings)


def test_a_refused_login_names_the_user_never_the_password(
    smtpd: Running, certificate: Certificate
) -> None:
    waits: list[float] = []
    sender = notifier(smtpd.port, certificate, waits, starttls=True, username=USER,
                      password="wrong-" + PASSWORD)  # fmt: skip
    with pytest.raises(NotificationError) as caught:
        sender.send(NOTE)
    assert str(caught.value) == (
        f"SMTP at 127.0.0.1:{smtpd.port}: login as 'gateway' refused (SMTP 535); "
        "gave up after 1 attempts"
    )
    assert caught.value.retryable is False
    assert PASSWORD not in str(caught.value)
    assert waits == []


def test_login_without_a_password_is_refused_too(smtpd: Running, certificate: Certificate) -> None:
    sender = notifier(smtpd.port, certificate, starttls=True, username=USER)
    with pytest.raises(NotificationError, match="login as 'gateway' refused"):
        sender.send(NOTE)


def test_the_default_tls_context_does_not_trust_a_self_signed_server(smtpd: Running) -> None:
    sender = notifier(smtpd.port, None, starttls=True)
    with pytest.raises(NotificationError, match=r"cannot deliver \(SSLCertVerificationError\)"):
        sender.send(NOTE)


def test_refused_recipients_are_named_and_final(smtpd: Running) -> None:
    smtpd.mailbox.refuse = {"alice@example.com", "bob@example.com"}
    with pytest.raises(NotificationError) as caught:
        notifier(smtpd.port, None).send(NOTE)
    assert str(caught.value) == (
        f"SMTP at 127.0.0.1:{smtpd.port}: recipients refused: alice@example.com, "
        "bob@example.com; gave up after 1 attempts"
    )
    assert caught.value.retryable is False


def test_a_temporary_failure_is_retried_with_backoff(smtpd: Running) -> None:
    smtpd.mailbox.defer = 2
    waits: list[float] = []
    notifier(smtpd.port, None, waits).send(NOTE)
    assert waits == [0.5, 1.0]
    assert len(smtpd.mailbox.received) == 1


def test_a_temporary_failure_that_lasts_gives_up(smtpd: Running) -> None:
    smtpd.mailbox.defer = 3
    with pytest.raises(NotificationError) as caught:
        notifier(smtpd.port, None).send(NOTE)
    assert str(caught.value) == (
        f"SMTP at 127.0.0.1:{smtpd.port}: SMTPDataError 451; gave up after 3 attempts"
    )
    assert caught.value.retryable is True


def test_a_server_that_is_down_is_retried_then_reported() -> None:
    port = free_port()
    waits: list[float] = []
    with pytest.raises(NotificationError) as caught:
        notifier(port, None, waits).send(NOTE)
    assert str(caught.value) == (
        f"SMTP at 127.0.0.1:{port}: cannot deliver (ConnectionRefusedError); "
        "gave up after 3 attempts"
    )
    assert waits == [0.5, 1.0]


def test_no_recipients_is_refused_before_connecting() -> None:
    note = Notification(kind=NotificationKind.DENIED, title="Denied", text="no")
    with pytest.raises(NotificationError) as caught:
        notifier(free_port(), None).send(note)
    assert str(caught.value).endswith(": no recipients")
    assert caught.value.retryable is False


def test_settings_default_to_submission_with_starttls(tmp_path: Path) -> None:
    settings = SmtpSettings(host="mail.example.com", sender="gateway@example.com")
    assert (settings.port, settings.starttls, settings.timeout_seconds) == (587, True, 10.0)
    assert repr(SmtpNotifier(settings)) == "SmtpNotifier('SMTP at mail.example.com:587')"


def test_line_breaks_cannot_inject_headers(smtpd: Running) -> None:
    note = Notification(kind=NotificationKind.DENIED, title="Denied\nBcc: eve@example.com",
                        text="no", recipients=("alice@example.com",))  # fmt: skip
    notifier(smtpd.port, None).send(note)
    [(envelope, message)] = smtpd.mailbox.received
    assert message["Subject"] == "[IT gateway] Denied Bcc: eve@example.com"
    assert message["Bcc"] is None
    assert envelope.rcpt_tos == ["alice@example.com"]
    bad = note.model_copy(update={"recipients": ("alice@example.com\nBcc: eve@example.com",)})
    with pytest.raises(NotificationError, match="cannot build the message") as caught:
        notifier(smtpd.port, None).send(bad)
    assert caught.value.retryable is False
    assert len(smtpd.mailbox.received) == 1
