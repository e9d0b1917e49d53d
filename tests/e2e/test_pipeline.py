"""End to end on the real broker: feed items in, a running worker, signed alerts at a real HTTP receiver."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from schemas import DeadLetter, NewsItem, StrikeReport, Subscription
from streams import topics
from streams.demo import subscribe
from streams.producer import FeedProducer
from streams.reader import TopicReader
from streams.receiver import WebhookReceiver
from streams.settings import SalvoSettings

RULES = Path(__file__).with_name("large-salvo.rules.yaml")

SEED = NewsItem(
    id="seed-geneva-salvo",
    source="salvo-seed",
    published_at="2026-02-17T07:30:00+02:00",
    title=(
        "Russia launches nearly 400 long-range drones and 29 missiles across 12 Ukrainian regions"
        " as talks open in Geneva"
    ),
)
STRIKE = StrikeReport(
    id="kpszsu-test-400",
    time_start="2026-03-01T18:00:00+02:00",
    time_end="2026-03-02T08:00:00+02:00",
    model="Shahed-136/131",
    launched=400,
    destroyed=371,
    affected_regions=["Kharkiv oblast", "Odesa oblast"],
    source="kpszsu/posts/test",
)


async def _wait_for(receiver: WebhookReceiver, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while len(receiver.received) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.25)


async def test_seed_story_and_strike_report_reach_the_webhook_signed(
    salvo_settings: SalvoSettings, start_worker
) -> None:
    receiver = await WebhookReceiver(secret=secrets.token_hex(16)).start()
    try:
        subscribe(
            salvo_settings,
            Subscription.model_validate(
                {"name": "ops", "target": {"type": "webhook", "url": receiver.url, "secret": receiver.secret}}
            ),
        )
        start_worker(salvo_settings, rules=RULES)
        with FeedProducer(salvo_settings) as producer:
            # Same key as the seed story: same partition, so the worker must carry on past the bad message.
            producer.send_raw(topics.NEWS_RAW, b'{"id": "broken", "title": ', key=SEED.id.encode())
            producer.send_raw(
                topics.NEWS_RAW, b'{"id": "no-time", "source": "x", "title": "t"}', key=SEED.id.encode()
            )
            producer.send(SEED)
            producer.send(STRIKE)
        started = time.monotonic()
        await _wait_for(receiver, 3, timeout_s=60)
        elapsed = time.monotonic() - started
        await asyncio.sleep(3)  # nothing more may arrive
    finally:
        await receiver.stop()

    got = {
        (
            item.body["alert"]["rule_id"],
            item.body["alert"]["severity"],
            tuple(item.body["alert"]["event_ids"]),
        )
        for item in receiver.received
    }
    assert got == {
        ("large-drone-salvo", "critical", ("news:seed-geneva-salvo",)),
        ("large-missile-salvo", "warning", ("news:seed-geneva-salvo",)),
        ("large-drone-salvo", "critical", ("strike:kpszsu-test-400",)),
    }, f"after {elapsed:.1f}s"
    assert receiver.rejected == 0, "every delivery carries a valid HMAC signature"
    assert all(item.key.endswith(":v1") for item in receiver.received)
    alert_ids = [item.body["alert"]["id"] for item in receiver.received]
    assert len(set(alert_ids)) == 3

    with TopicReader(salvo_settings, [topics.DEADLETTER]) as reader:
        letters = [DeadLetter.model_validate_json(r.value) for r in reader.poll(3)]
    assert sorted(letter.reason for letter in letters) == ["malformed", "schema"]
    schema_error = next(letter for letter in letters if letter.reason == "schema")
    assert "published_at" in schema_error.error and schema_error.topic == salvo_settings.topic(
        topics.NEWS_RAW
    )
    assert json.loads(schema_error.value)["id"] == "no-time"

    metrics = httpx.get(f"http://127.0.0.1:{salvo_settings.web_port}/metrics").text
    dead = {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "salvo_dead_letters"
        for sample in family.samples
        if sample.name == "salvo_dead_letters_total" and sample.labels["topic"].endswith(topics.NEWS_RAW)
    }
    assert dead["malformed"] == 1 and dead["schema"] == 1
    # faust's own per-record series, which Salvo's sensor builds at scrape time (streams/worker/sensor.py)
    faust = {(sample.name, sample.labels.get("topic", "")): sample.value
             for family in text_string_to_metric_families(metrics) if family.name.startswith("faust_")
             for sample in family.samples}
    news_raw = salvo_settings.topic(topics.NEWS_RAW)
    assert faust[("faust_messages_received_per_topic_total", news_raw)] == 3  # the two bad ones and the seed
    assert faust[("faust_messages_received_total", "")] >= 3 + 1 + 3  # and the strike, events, ticks
    assert faust[("faust_topic_messages_sent_total", f"topic.{salvo_settings.topic(topics.ALERTS)}")] >= 3
