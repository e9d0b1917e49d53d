"""Tests of alerts/channels/email.py against a real SMTP server (aiosmtpd), plain and STARTTLS with auth."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.channels.base import ChannelError, Envelope
from alerts.channels.email import EmailChannel, EmailConfig, build_message
from alerts.present import DeskConfig
from schemas.delivery import FailureReason
from schemas.event import Evidence, Replay
from schemas.subscription import Subscription
from streams.broker import free_port
from tests.alerts.channels.fixtures import assert_no_secret
from tests.alerts.channels.servers import SMTP_LOGIN, SMTP_PASSWORD, Inbox
from tests.alerts.conftest import T0, make_alert


def mail_to(*addresses: str) -> Subscription:
    return Subscription.model_validate({"name": "desk", "target": {"type": "email", "to": list(addresses)}})


def test_message_has_text_and_html_parts_and_the_key() -> None:
    message = build_message(Envelope(make_alert(), mail_to("desk@example.org"), "k:v1", T0), sender="s@x.org")
    assert message["Subject"] == "[CRITICAL] Mass drone attack on Kharkiv"
    assert message["X-Salvo-Idempotency-Key"] == "k:v1"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert "Drones: 753" in message.get_body(("plain",)).get_content()


def test_the_desk_reads_when_why_where_and_whether_it_is_a_replay() -> None:
    """The e-mail had no event time, its sources were not links, and a replay looked live."""
    alert = make_alert(
        replay=Replay(label="drill-7", deliver=True), sources=["https://t.me/kpszsu/12345", "kpszsu/posts/9"],
        evidence=[Evidence(kind="drones", text="753 Shahed-type drones", start=0, end=22, rule="count->drones")],
    )
    desk = DeskConfig(timezone="Europe/Kyiv", api_url="https://salvo.example")
    message = build_message(Envelope(alert, mail_to("desk@example.org"), "k:v1", T0), sender="s@x.org", desk=desk)
    assert message["Subject"] == "[REPLAY drill-7 · CRITICAL] Mass drone attack on Kharkiv"
    text = message.get_body(("plain",)).get_content()
    assert "REPLAY drill-7: replayed history, not live" in text
    assert "Since: 2026-05-13 06:00 EEST (03:00 UTC)" in text
    assert "Rule mass-drone-attack: 753 against a threshold of 100" in text
    assert "Evidence: “753 Shahed-type drones” (count->drones)" in text
    html = message.get_body(("html",)).get_content()
    assert '<a href="https://t.me/kpszsu/12345">' in html and 'href="kpszsu/posts/9"' not in html
    assert f'<a href="https://salvo.example/api/incidents/{alert.id}">' in html


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
    good = EmailConfig(port=port, ca_file=cert, username=SMTP_LOGIN, password=SMTP_PASSWORD)
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
