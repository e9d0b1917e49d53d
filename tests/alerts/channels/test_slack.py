"""Tests of alerts/channels/slack.py: a readable Block Kit message, posted to a real local receiver."""

from __future__ import annotations

import json

import httpx
import pytest

from alerts.channels.base import ChannelError, Envelope
from alerts.channels.slack import SlackChannel, SlackConfig, build_payload
from schemas.delivery import FailureReason
from schemas.event import Replay
from schemas.subscription import Subscription
from tests.alerts.channels.fixtures import Receiver, assert_no_secret
from tests.alerts.conftest import T0, make_alert


def slack(url: str) -> Subscription:
    return Subscription.model_validate({"name": "newsroom", "target": {"type": "slack", "url": url}})


def test_message_shows_severity_facts_and_source_links() -> None:
    payload = build_payload(Envelope(make_alert(), slack("https://hooks.slack.com/x"), "k:v1", T0))
    text = json.dumps(payload)
    assert payload["text"] == ":red_circle: [CRITICAL] Mass drone attack on Kharkiv"
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "section", "context"]
    assert "Drones: 753" in text and "Regions (2): Kharkiv, Sumy" in text
    assert "<https://t.me/kpszsu/12345|source 1>" in text
    assert "2026-05-13 06:00 EEST (03:00 UTC)" in text  # the desk's time (Europe/Kyiv by default), then UTC


def test_a_replayed_alert_says_so_before_anything_else() -> None:
    alert = make_alert(replay=Replay(label="drill-7", deliver=True))
    payload = build_payload(Envelope(alert, slack("https://hooks.slack.com/x"), "k:v1", T0))
    assert payload["text"].startswith(":red_circle: [REPLAY drill-7 · CRITICAL]")


def test_resolved_alerts_say_so() -> None:
    payload = build_payload(
        Envelope(make_alert(status="resolved", version=2), slack("https://h.x/y"), "k", T0)
    )
    assert "[RESOLVED]" in payload["text"]


async def test_posts_to_the_hook_and_keeps_its_url_out_of_errors(receiver: Receiver) -> None:
    hook = receiver.url + "/T000/B000/secret-token-xyz"
    async with httpx.AsyncClient() as client:
        channel = SlackChannel(SlackConfig(), client=client)
        await channel.send(Envelope(make_alert(), slack(hook), "k:v1", T0))
        receiver.fail(429, retry_after="3")
        with pytest.raises(ChannelError) as caught:
            await channel.send(Envelope(make_alert(), slack(hook), "k:v1", T0))
    assert json.loads(receiver.received[0].body)["blocks"][0]["type"] == "header"
    assert caught.value.reason is FailureReason.RATE_LIMITED and caught.value.retry_after == 3
    assert_no_secret(caught.value, "secret-token-xyz")
