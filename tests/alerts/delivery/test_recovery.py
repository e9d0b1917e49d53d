"""Acceptance: a webhook receiver down for 30 seconds, then back, gets every alert once per idempotency key.

Real clock, real server taken off the network (connection refused), the worker's loop reduced to `tick`
every 0.25 s. Timeline: t=0 receiver stops; t=0..10 five alerts arrive; t=30 receiver returns on the same
port; by t≈35 every alert has arrived, each key exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime

import httpx

from alerts.delivery import RetryPolicy
from schemas.delivery import DeliveryStatus
from tests.alerts.channels.fixtures import Receiver
from tests.alerts.conftest import make_alert, make_subscription
from tests.alerts.delivery.test_pipeline import Harness

DOWN_S = 30.0
TOLERANCE_S = 5.0


async def test_receiver_down_30_seconds_then_back_gets_every_alert_once(receiver: Receiver) -> None:
    policy = RetryPolicy(initial_s=0.5, max_delay_s=3.0, max_attempts=100, jitter=0.3)
    async with httpx.AsyncClient() as client:
        h = Harness(client, [make_subscription(url=receiver.url)], policy=policy)
        start = time.monotonic()
        await receiver.stop()
        alerts = [make_alert(id=f"drone-wave-{n}") for n in range(5)]
        back = False
        while time.monotonic() - start < DOWN_S + TOLERANCE_S:
            elapsed = time.monotonic() - start
            if alerts and elapsed >= 2 * (5 - len(alerts)):
                await h.deliverer.submit(alerts.pop(0), now=datetime.now(UTC))
            if not back and elapsed >= DOWN_S:
                await receiver.start()  # same port: the subscription URL is unchanged
                back = True
            await h.deliverer.tick(now=datetime.now(UTC))
            if len(receiver.received) == 5:
                break
            await asyncio.sleep(0.25)
    keys = Counter(got.headers["Idempotency-Key"] for got in receiver.received)
    assert keys == Counter({f"drone-wave-{n}:v1": 1 for n in range(5)})
    assert min(got.at for got in receiver.received) - start >= DOWN_S
    assert max(got.at for got in receiver.received) - start <= DOWN_S + TOLERANCE_S
    delivered = [r for r in h.log if r.status is DeliveryStatus.DELIVERED]
    assert len(delivered) == 5 and all(r.latency_s >= 20 for r in delivered)
    assert not [r for r in h.log if r.status is DeliveryStatus.DEAD]
