"""Tests of alerts/channels/webhook.py against a real local HTTP receiver."""

from __future__ import annotations

import json

import httpx
import pytest

from alerts.channels.base import ChannelError, Envelope, parse_retry_after
from alerts.channels.webhook import WebhookChannel, WebhookConfig, build_payload
from alerts.signing import verify
from schemas.delivery import FailureReason
from tests.alerts.channels.fixtures import STATUS_TABLE, Receiver, assert_no_secret
from tests.alerts.conftest import SECRET, T0, make_alert, make_subscription


def envelope(url: str, **changes) -> Envelope:
    return Envelope(make_alert(**changes), make_subscription(url=url), make_alert(**changes).key, T0)


def test_payload_is_versioned_and_carries_the_idempotency_key() -> None:
    payload = build_payload(envelope("http://127.0.0.1:9/hook"))
    assert payload["version"] == "1"
    assert payload["idempotency_key"] == "mass-drone-attack:kharkiv:2026-05-13:v1"
    assert payload["alert"]["facts"]["drones"] == 753


async def test_a_delivery_is_signed_and_keyed(receiver: Receiver) -> None:
    async with httpx.AsyncClient() as client:
        await WebhookChannel(WebhookConfig(), client=client).send(envelope(receiver.url))
    (got,) = receiver.received
    assert got.headers["Idempotency-Key"] == "mass-drone-attack:kharkiv:2026-05-13:v1"
    assert verify(got.body, got.headers["X-Salvo-Signature"], secret=SECRET, now=T0.timestamp())
    assert json.loads(got.body)["subscription"] == "ops"


@pytest.mark.parametrize(("status", "reason"), STATUS_TABLE)
async def test_status_table(receiver: Receiver, status: int, reason: FailureReason | None) -> None:
    receiver.fail(status, retry_after="7" if status == 429 else None)
    async with httpx.AsyncClient() as client:
        channel = WebhookChannel(WebhookConfig(), client=client)
        if reason is None:
            await channel.send(envelope(receiver.url))
            return
        with pytest.raises(ChannelError) as caught:
            await channel.send(envelope(receiver.url))
    assert caught.value.reason is reason
    assert caught.value.retryable is (
        reason in {FailureReason.SERVER, FailureReason.RATE_LIMITED, FailureReason.TIMEOUT}
    )
    assert caught.value.retry_after == (7.0 if status == 429 else None)
    assert str(caught.value).startswith(f"post webhook: HTTP {status}")
    assert_no_secret(caught.value, receiver.url, SECRET)


async def test_connection_refused_is_retryable_and_redacted() -> None:
    url = "http://127.0.0.1:9/hook?token=tok-abcdef123456"
    async with httpx.AsyncClient() as client:
        with pytest.raises(ChannelError) as caught:
            await WebhookChannel(WebhookConfig(), client=client).send(envelope(url))
    assert caught.value.retryable and caught.value.reason is FailureReason.SERVER
    assert_no_secret(caught.value, "tok-abcdef123456", SECRET)


async def test_a_slow_receiver_times_out() -> None:
    import asyncio

    from aiohttp import web

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    sub = make_subscription(
        target={"type": "webhook", "url": f"http://127.0.0.1:{port}/hook", "secret": SECRET, "timeout_s": 0.2}
    )
    try:
        async with httpx.AsyncClient() as client:
            with pytest.raises(ChannelError) as caught:
                await WebhookChannel(WebhookConfig(), client=client).send(
                    Envelope(make_alert(), sub, "k", T0)
                )
    finally:
        await runner.cleanup()
    assert caught.value.reason is FailureReason.TIMEOUT and caught.value.retryable


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("120", now=T0) == 120.0
    assert parse_retry_after("Wed, 13 May 2026 03:00:30 GMT", now=T0) == 30.0
    assert parse_retry_after("soon", now=T0) is None


def test_channel_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from alerts.channels import ChannelsConfig

    monkeypatch.setenv("SALVO_EMAIL__HOST", "smtp.example.org")
    monkeypatch.setenv("SALVO_EMAIL__STARTTLS", "false")
    config = ChannelsConfig()
    assert (config.email.host, config.email.starttls) == ("smtp.example.org", False)
