"""Tests of alerts/channels/alertmanager.py against the real Alertmanager binary (Debian package)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry

from alerts.channels import ChannelsConfig, build_channels
from alerts.channels.alertmanager import build_payload, labels
from alerts.channels.base import Envelope
from alerts.delivery import Deliverer, DeliveryMetrics
from alerts.outbox import Outbox
from alerts.present import DeskConfig
from schemas.delivery import DeliveryRecord, DeliveryStatus
from schemas.subscription import Subscription
from tests.alerts.conftest import T0, make_alert


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def am_subscription(url: str) -> Subscription:
    target = {"type": "alertmanager", "url": url, "resend_interval_s": 5}
    return Subscription.model_validate({"name": "oncall", "target": target})


def test_payload_keeps_identity_and_sets_ends_at() -> None:
    sub = am_subscription("http://am:9093")
    desk = DeskConfig(api_url="https://salvo.example/")
    firing = build_payload(Envelope(make_alert(labels={"team.name": "ops"}), sub, "k", T0),
                           resend_interval=timedelta(seconds=60), desk=desk)  # fmt: skip
    assert firing[0]["endsAt"] == "2026-05-13T03:04:00Z" and firing[0]["startsAt"] == "2026-05-13T03:00:00Z"
    assert firing[0]["labels"]["team_name"] == "ops" and firing[0]["labels"]["region"] == "Kharkiv,Sumy"
    # the incident's page in Salvo's API, not the API's schema
    assert firing[0]["generatorURL"] == f"https://salvo.example/api/incidents/{make_alert().id}"
    resolved_alert = make_alert(status="resolved", version=2, ends_at=T0 + timedelta(minutes=9))
    resolved = build_payload(Envelope(resolved_alert, sub, "k", T0 + timedelta(minutes=10)),
                             resend_interval=timedelta(seconds=60), desk=desk)  # fmt: skip
    assert resolved[0]["endsAt"] == "2026-05-13T03:09:00Z"
    assert labels(make_alert()) == labels(make_alert(version=3))


async def test_alertmanager_lists_what_salvo_sent_resends_and_resolves(alertmanager: str, client) -> None:
    log: list[DeliveryRecord] = []

    async def record(r: DeliveryRecord) -> None:
        log.append(r)

    subs = {"oncall": am_subscription(alertmanager)}
    deliverer = Deliverer(
        channels=build_channels(ChannelsConfig(), http=client), outbox=Outbox({}), subscriptions=subs,
        silences={}, record=record, metrics=DeliveryMetrics(CollectorRegistry()), rng=random.Random(1),
    )  # fmt: skip
    now = datetime.now(UTC)
    alert = make_alert(starts_at=now - timedelta(minutes=1), first_ingested_at=now)
    (sent,) = await deliverer.submit(alert, now=now)
    assert sent.status is DeliveryStatus.DELIVERED

    async def listed() -> list[dict]:
        response = await client.get(f"{alertmanager}/api/v2/alerts", params={"filter": "source=salvo"})
        response.raise_for_status()
        return response.json()

    (active,) = await listed()
    assert active["status"]["state"] == "active"
    assert active["labels"]["alertname"] == "mass-drone-attack" and active["labels"]["salvo_id"] == alert.id
    assert active["annotations"]["title"] == "Mass drone attack on Kharkiv"
    first_end = active["endsAt"]

    await deliverer.tick(now=now + timedelta(seconds=6))  # past the 5 s resend interval: re-posted
    (again,) = await listed()
    assert again["endsAt"] > first_end

    resolved = alert.model_copy(update={"status": "resolved", "version": 2, "ends_at": now})
    (done,) = await deliverer.submit(resolved, now=now + timedelta(seconds=7))
    assert done.status is DeliveryStatus.DELIVERED
    assert await listed() == []  # Alertmanager drops alerts whose endsAt has passed from its list
    await deliverer.tick(now=now + timedelta(seconds=20))  # resolved: no more re-sends
    assert [r.status for r in log] == [DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED]
