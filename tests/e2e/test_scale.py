"""Two workers in one consumer group: the partitions are shared, and every alert still reaches the subscriber
exactly once per idempotency key (the rules and notify agents run on one partition each, on one worker)."""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx

from schemas import StrikeReport, Subscription
from streams.broker import free_port
from streams.demo import subscribe
from streams.producer import FeedProducer
from streams.receiver import WebhookReceiver
from streams.settings import SalvoSettings


def night(day: int, drones: int) -> StrikeReport:
    return StrikeReport(
        id=f"scale-{day}", time_start=f"2025-08-{day:02d}T18:00:00+03:00",
        time_end=f"2025-08-{day + 1:02d}T08:00:00+03:00", model="Shahed-136/131", launched=drones,
        source="kpszsu/scale",
    )


def assigned(settings: SalvoSettings) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{settings.web_port}/readyz", timeout=2).json()["checks"]["assigned"]
    except httpx.HTTPError:
        return False


async def test_two_workers_share_the_partitions_and_deliver_each_alert_once(
    salvo_settings: SalvoSettings, start_worker, tmp_path
) -> None:
    receiver = await WebhookReceiver(secret=secrets.token_hex(16)).start()
    try:
        subscribe(salvo_settings, Subscription.model_validate(
            {"name": "ops", "target": {"type": "webhook", "url": receiver.url, "secret": receiver.secret}}
        ))
        second = salvo_settings.model_copy(update={"web_port": free_port(), "data_dir": tmp_path / "second"})
        await asyncio.to_thread(start_worker, salvo_settings)
        await asyncio.to_thread(start_worker, second)
        deadline = time.monotonic() + 60
        while not (assigned(salvo_settings) and assigned(second)) and time.monotonic() < deadline:
            await asyncio.sleep(1)
        assert assigned(salvo_settings) and assigned(second), "both workers hold partitions"

        reports = [night(day, 150 + 10 * day) for day in range(1, 11)]  # ten nights, each one alert
        with FeedProducer(salvo_settings) as producer:
            for report in reports:
                producer.send(report)
        deadline = time.monotonic() + 90
        while len({i.body["alert"]["id"] for i in receiver.received
                   if i.body["alert"]["rule_id"] == "attack-night"}) < 10 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)
    finally:
        await receiver.stop()
    salvos = [i for i in receiver.received if i.body["alert"]["rule_id"] == "attack-night"]
    assert sorted(i.body["alert"]["event_ids"][0] for i in salvos) == sorted(f"strike:{r.id}" for r in reports)
    assert receiver.duplicates == 0 and receiver.rejected == 0
