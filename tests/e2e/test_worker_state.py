"""The live worker's state and clock: window sums survive a clean restart (RocksDB), a delivery pending at a
crash (kill -9) arrives afterwards once under the same idempotency key, and a late event is routed and counted."""

from __future__ import annotations

import asyncio
import secrets
import signal
import time
from pathlib import Path

import httpx

from schemas import Alert, StrikeReport, Subscription
from streams import topics
from streams.demo import subscribe
from streams.producer import FeedProducer
from streams.reader import TopicReader
from streams.receiver import WebhookReceiver
from streams.settings import SalvoSettings

RULES = Path(__file__).with_name("restart.rules.yaml")


def report(rid: str, drones: int, end: str) -> StrikeReport:
    return StrikeReport(
        id=rid, time_start="2025-08-10T18:00:00+03:00", time_end=end, model="Shahed-136/131", launched=drones,
        source="kpszsu/test",
    )


def wait_for(settings: SalvoSettings, topic: str, count: int, timeout_s: float = 60) -> list[bytes]:
    deadline = time.monotonic() + timeout_s
    values: list[bytes] = []
    with TopicReader(settings, [topic]) as reader:
        while len(values) < count and time.monotonic() < deadline:
            values += [r.value for r in reader.poll(1) if r.value is not None]
    return values


def stop(process, sig: int = signal.SIGTERM) -> None:  # type: ignore[no-untyped-def]
    process.send_signal(sig)
    process.wait(timeout=30)


def test_a_window_sum_survives_a_restart_with_rocksdb(salvo_settings: SalvoSettings, start_worker) -> None:
    settings = salvo_settings.model_copy(update={"store": "rocksdb://"})
    with FeedProducer(settings) as producer:
        producer.send(report("first", 300, "2025-08-11T05:00:00+03:00"))
    worker = start_worker(settings, rules=RULES)
    assert len(wait_for(settings, topics.EVENTS, 1)) == 1
    time.sleep(3)  # the table write is committed with the event's offset
    stop(worker)
    assert wait_for(settings, topics.ALERTS, 1, timeout_s=2) == []

    start_worker(settings, rules=RULES)
    with FeedProducer(settings) as producer:
        producer.send(report("second", 250, "2025-08-11T07:00:00+03:00"))
    (alert,) = [Alert.model_validate_json(v) for v in wait_for(settings, topics.ALERTS, 1)]
    assert alert.rule_id == "night-drones" and alert.value == 550
    assert sorted(alert.event_ids) == ["strike:first", "strike:second"]


async def test_a_delivery_pending_at_a_crash_arrives_once_after_restart(
    salvo_settings: SalvoSettings, start_worker
) -> None:
    receiver = WebhookReceiver(secret=secrets.token_hex(16))
    await receiver.start()
    port, url = receiver.port, receiver.url
    await receiver.stop()  # the subscriber is down when the alert fires
    subscribe(salvo_settings, Subscription.model_validate(
        {"name": "ops", "target": {"type": "webhook", "url": url, "secret": receiver.secret}}
    ))
    worker = await asyncio.to_thread(start_worker, salvo_settings, rules=RULES)
    with FeedProducer(salvo_settings) as producer:
        producer.send(report("big", 700, "2025-08-11T05:00:00+03:00"))
    log = await asyncio.to_thread(wait_for, salvo_settings, topics.DELIVERY_LOG, 1)
    assert b'"retrying"' in log[0]
    stop(worker, signal.SIGKILL)

    revived = WebhookReceiver(secret=receiver.secret, port=port)
    await revived.start()
    try:
        await asyncio.to_thread(start_worker, salvo_settings, rules=RULES)
        deadline = time.monotonic() + 60
        while not revived.received and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
        await asyncio.sleep(3)
    finally:
        await revived.stop()
    (alerts,) = [await asyncio.to_thread(wait_for, salvo_settings, topics.ALERTS, 1)]
    key = Alert.model_validate_json(alerts[0]).key
    assert [item.key for item in revived.received] == [key]
    assert revived.rejected == 0


def test_an_event_behind_the_watermark_goes_to_the_late_topic_and_is_counted(
    salvo_settings: SalvoSettings, start_worker
) -> None:
    settings = salvo_settings.model_copy(update={"start_hold_s": 0.0})
    start_worker(settings, rules=RULES)
    with FeedProducer(settings) as producer:  # one key: one partition, so the order is fixed
        producer.send_raw(topics.STRIKES_RAW, report("now", 10, "2025-08-11T08:00:00+03:00").model_dump_json().encode(),
                          key=b"k")
        producer.send_raw(topics.STRIKES_RAW, report("old", 10, "2025-08-11T02:00:00+03:00").model_dump_json().encode(),
                          key=b"k")
    (late,) = wait_for(settings, topics.EVENTS_LATE, 1)
    assert b'"strike:old"' in late
    metrics = httpx.get(f"http://127.0.0.1:{settings.web_port}/metrics").text
    assert 'salvo_late_events_total{reason="behind_watermark"} 1.0' in metrics
