"""Tests of alerts/channels/email.py against a real SMTP server (aiosmtpd), plain and STARTTLS with auth."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from alerts.channels.base import ChannelError, Envelope
from alerts.channels.email import EmailChannel, EmailConfig, build_message
from schemas.delivery import FailureReason
from schemas.subscription import Subscription
from streams.broker import free_port
from tests.alerts.channels.fixtures import assert_no_secret
from tests.alerts.conftest import T0, make_alert


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses recipients at `refused.example`."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_RCPT(self, server, session, envelope: SmtpEnvelope, address: str, options) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such user"
        if address.endswith("@busy.example"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: SmtpEnvelope) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"


def _authenticate(server, session: Session, envelope, mechanism, auth_data) -> AuthResult:
    ok = auth_data.login == b"salvo" and auth_data.password == b"pa55-word-xyz"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server on a free port."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def tls_inbox(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    """An SMTP server that requires STARTTLS (self-signed certificate) and AUTH LOGIN/PLAIN."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Inbox()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
        authenticator=_authenticate, auth_required=True,
    )  # fmt: skip
    controller.start()
    yield handler, controller.port, cert
    controller.stop()


def mail_to(*addresses: str) -> Subscription:
    return Subscription.model_validate({"name": "desk", "target": {"type": "email", "to": list(addresses)}})


def test_message_has_text_and_html_parts_and_the_key() -> None:
    message = build_message(Envelope(make_alert(), mail_to("desk@example.org"), "k:v1", T0), sender="s@x.org")
    assert message["Subject"] == "[CRITICAL] Mass drone attack on Kharkiv"
    assert message["X-Salvo-Idempotency-Key"] == "k:v1"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert "Drones: 753" in message.get_body(("plain",)).get_content()


async def test_sends_plain_smtp_and_classifies_refusals(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    channel = EmailChannel(EmailConfig(port=port, starttls=False, sender="salvo@example.org"))
    await channel.send(Envelope(make_alert(), mail_to("desk@example.org"), "k:v1", T0))
    (got,) = handler.messages
    assert got["To"] == "desk@example.org" and got.is_multipart()
    with pytest.raises(ChannelError) as refused:
        await channel.send(Envelope(make_alert(), mail_to("x@refused.example"), "k:v1", T0))
    assert refused.value.reason is FailureReason.CLIENT and not refused.value.retryable
    with pytest.raises(ChannelError) as busy:
        await channel.send(Envelope(make_alert(), mail_to("x@busy.example"), "k:v1", T0))
    assert busy.value.retryable


async def test_starttls_and_auth(tls_inbox: tuple[Inbox, int, Path]) -> None:
    handler, port, cert = tls_inbox
    good = EmailConfig(port=port, ca_file=cert, username="salvo", password="pa55-word-xyz")
    await EmailChannel(good).send(Envelope(make_alert(), mail_to("desk@example.org"), "k:v1", T0))
    assert len(handler.messages) == 1
    bad = good.model_copy(update={"password": good.password.__class__("wrong-pass-123")})
    with pytest.raises(ChannelError) as caught:
        await EmailChannel(bad).send(Envelope(make_alert(), mail_to("desk@example.org"), "k:v1", T0))
    assert caught.value.reason is FailureReason.AUTH
    assert str(caught.value).startswith("authenticate to SMTP server")
    assert_no_secret(caught.value, "wrong-pass-123")


async def test_an_unreachable_server_is_retryable() -> None:
    channel = EmailChannel(EmailConfig(port=free_port(), starttls=False))
    with pytest.raises(ChannelError) as caught:
        await channel.send(Envelope(make_alert(), mail_to("desk@example.org"), "k:v1", T0))
    assert caught.value.retryable and str(caught.value).startswith("connect to SMTP server")


def test_half_configured_credentials_are_refused() -> None:
    with pytest.raises(ValueError, match="both username and password"):
        EmailConfig(username="salvo")
