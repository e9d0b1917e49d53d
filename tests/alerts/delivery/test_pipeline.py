"""Tests of alerts/delivery: the stage pipeline against a real HTTP receiver, with explicit timestamps."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from alerts.channels import ChannelsConfig, build_channels
from alerts.delivery import Deliverer, DeliveryMetrics, RetryPolicy
from alerts.outbox import Outbox, OutboxState
from alerts.silences import new_silence
from schemas.delivery import DeliveryRecord, DeliveryRequest, DeliveryStatus, FailureReason, Matcher, Silence
from schemas.subscription import Subscription
from tests.alerts.channels.fixtures import Receiver
from tests.alerts.conftest import T0, make_alert, make_subscription


class Harness:
    """A Deliverer on dict stores with a collected delivery log and its own metrics registry."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        subs: list[Subscription],
        store: dict | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.store: dict[str, Any] = {} if store is None else store
        self.subscriptions = {s.name: s for s in subs}
        self.silences: dict[str, Silence] = {}
        self.log: list[DeliveryRecord] = []
        self.registry = CollectorRegistry()
        self.deliverer = Deliverer(
            channels=build_channels(ChannelsConfig(), http=client),
            outbox=Outbox(self.store),
            subscriptions=self.subscriptions,
            silences=self.silences,
            record=self._record,
            metrics=DeliveryMetrics(self.registry),
            policy=policy or RetryPolicy(max_attempts=4, jitter=0.0),
            rng=random.Random(1),
        )

    async def _record(self, record: DeliveryRecord) -> None:
        self.log.append(record)

    def metric(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as http:
        yield http


async def test_delivers_once_and_a_repeat_is_a_logged_duplicate(receiver: Receiver, client) -> None:
    h = Harness(client, [make_subscription(url=receiver.url)])
    (first,) = await h.deliverer.submit(make_alert(), now=T0)
    (again,) = await h.deliverer.submit(make_alert(), now=T0 + timedelta(seconds=5))
    assert (first.status, again.status) == (DeliveryStatus.DELIVERED, DeliveryStatus.DUPLICATE)
    assert first.latency_s == 0.0 and first.attempts == 1
    assert len(receiver.received) == 1
    assert h.metric("salvo_deliveries_total", channel="webhook", outcome="delivered") == 1
    assert h.metric("salvo_end_to_end_latency_seconds_count") == 1


async def test_500_then_429_honours_retry_after_and_recovers(receiver: Receiver, client) -> None:
    h = Harness(client, [make_subscription(url=receiver.url)])
    receiver.fail(500, times=2)
    receiver.fail(429, retry_after="30")
    (r1,) = await h.deliverer.submit(make_alert(), now=T0)
    assert r1.status is DeliveryStatus.RETRYING and r1.next_attempt_at == T0 + timedelta(seconds=1)
    assert await h.deliverer.tick(now=T0 + timedelta(seconds=0.5)) == []  # not due yet
    (r2,) = await h.deliverer.tick(now=T0 + timedelta(seconds=1))
    assert r2.next_attempt_at == T0 + timedelta(seconds=3)  # 1 s, then 2 s
    (r3,) = await h.deliverer.tick(now=T0 + timedelta(seconds=3))
    assert r3.reason is FailureReason.RATE_LIMITED
    assert r3.next_attempt_at == T0 + timedelta(seconds=33)  # Retry-After beats the 4 s backoff
    (r4,) = await h.deliverer.tick(now=T0 + timedelta(seconds=33))
    assert (r4.status, r4.attempts, r4.latency_s) == (DeliveryStatus.DELIVERED, 4, 33.0)
    assert {got.headers["Idempotency-Key"] for got in receiver.received} == {make_alert().key}
    assert len(receiver.received) == 4


async def test_a_client_error_dead_letters_at_once_and_redrive_resends(receiver: Receiver, client) -> None:
    h = Harness(client, [make_subscription(url=receiver.url)])
    receiver.fail(400)
    (dead,) = await h.deliverer.submit(make_alert(), now=T0)
    assert (dead.status, dead.reason, dead.attempts) == (DeliveryStatus.DEAD, FailureReason.CLIENT, 1)
    assert "HTTP 400" in dead.error
    assert h.metric("salvo_delivery_dead_letters_total", channel="webhook", reason="client") == 1
    assert [e.key for e in h.deliverer.entries(OutboxState.DEAD)] == [dead.outbox_key]
    assert await h.deliverer.tick(now=T0 + timedelta(hours=1)) == []
    redriven = await h.deliverer.redrive(dead.outbox_key, now=T0 + timedelta(hours=1))
    assert redriven is not None and redriven.status is DeliveryStatus.DELIVERED
    assert len(receiver.received) == 2


async def test_retries_run_out_into_a_dead_letter(receiver: Receiver, client) -> None:
    h = Harness(client, [make_subscription(url=receiver.url)])
    receiver.fail(503, times=10)
    await h.deliverer.submit(make_alert(), now=T0)
    for second in range(1, 60):
        await h.deliverer.tick(now=T0 + timedelta(seconds=second))
    assert [r.status for r in h.log] == [DeliveryStatus.RETRYING] * 3 + [DeliveryStatus.DEAD]
    assert h.log[-1].reason is FailureReason.SERVER and h.log[-1].attempts == 4


async def test_a_crash_before_marking_delivered_repeats_with_the_same_key(receiver: Receiver, client) -> None:
    h = Harness(client, [make_subscription(url=receiver.url)])
    receiver.fail(500)
    await h.deliverer.submit(make_alert(), now=T0)
    changelog = dict(h.store)  # what the table had persisted before the next send
    await h.deliverer.tick(now=T0 + timedelta(seconds=1))
    restarted = Harness(client, [make_subscription(url=receiver.url)], store=changelog)
    (again,) = await restarted.deliverer.tick(now=T0 + timedelta(seconds=2))
    assert again.status is DeliveryStatus.DELIVERED
    keys = [got.headers["Idempotency-Key"] for got in receiver.received]
    assert keys == [make_alert().key] * 3  # failed, delivered, repeated after the crash


async def test_silences_apply_at_routing_and_to_pending_retries(receiver: Receiver, client) -> None:
    h = Harness(client, [make_subscription(url=receiver.url)])
    receiver.fail(500)
    await h.deliverer.submit(make_alert(), now=T0)
    silence = new_silence(
        [Matcher.parse("region=Kharkiv")], duration=timedelta(hours=2), comment="drill", now=T0,
        spanning=True,  # the alert names Sumy too
    )
    h.silences[silence.id] = silence
    (muted,) = await h.deliverer.tick(now=T0 + timedelta(seconds=1))
    assert muted.status is DeliveryStatus.SILENCED and "drill" in muted.error
    assert await h.deliverer.submit(make_alert(id="other"), now=T0) == []
    assert h.log[-1].status is DeliveryStatus.SILENCED and h.log[-1].alert_id == "other"
    assert len(receiver.received) == 1


async def test_the_rate_limit_defers_without_using_an_attempt(receiver: Receiver, client) -> None:
    h = Harness(client, [make_subscription(url=receiver.url, rate_per_minute=1)])
    (sent,) = await h.deliverer.submit(make_alert(id="a1"), now=T0)
    (deferred,) = await h.deliverer.submit(make_alert(id="a2"), now=T0)
    assert (sent.status, deferred.status) == (DeliveryStatus.DELIVERED, DeliveryStatus.DEFERRED)
    assert deferred.next_attempt_at == T0 + timedelta(seconds=60) and deferred.attempts == 0
    (later,) = await h.deliverer.tick(now=T0 + timedelta(seconds=60))
    assert later.status is DeliveryStatus.DELIVERED and later.attempts == 1


async def test_a_new_version_supersedes_pending_retries_of_the_old(receiver: Receiver, client) -> None:
    h = Harness(client, [make_subscription(url=receiver.url)])
    receiver.fail(500)
    await h.deliverer.submit(make_alert(), now=T0)
    (v2,) = await h.deliverer.submit(make_alert(version=2, status="updated"), now=T0 + timedelta(seconds=0.5))
    assert v2.status is DeliveryStatus.DELIVERED
    assert await h.deliverer.tick(now=T0 + timedelta(seconds=5)) == []
    assert [got.headers["Idempotency-Key"] for got in receiver.received][-1].endswith(":v2")
    assert len(receiver.received) == 2


async def test_a_request_for_a_removed_subscription_is_logged_not_sent(receiver: Receiver, client) -> None:
    h = Harness(client, [])
    (record,) = await h.deliverer.deliver([DeliveryRequest(alert=make_alert(), subscription="gone")], now=T0)
    assert (record.status, record.channel) == (DeliveryStatus.UNSUBSCRIBED, None)
    assert receiver.received == []


async def test_a_retry_for_a_removed_subscription_is_dead_and_logged(receiver: Receiver, client) -> None:
    h = Harness(client, [make_subscription(url=receiver.url)])
    receiver.fail(500)
    await h.deliverer.submit(make_alert(), now=T0)
    del h.subscriptions["ops"]
    (record,) = await h.deliverer.tick(now=T0 + timedelta(seconds=5))
    assert record.status is DeliveryStatus.UNSUBSCRIBED
    (entry,) = h.deliverer.entries()
    assert (entry.state, entry.error) == (OutboxState.DEAD, "subscription removed")
    assert await h.deliverer.tick(now=T0 + timedelta(seconds=10)) == [] and len(receiver.received) == 1
