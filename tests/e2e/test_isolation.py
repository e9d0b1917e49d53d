"""Issue 11 on a real worker: one slow subscriber costs nobody else, a confirmed subscription survives kill -9,
and a clean stop logs no error.

Timeline of the isolation case: a receiver that holds every request `HANG_S` before answering (within its
webhook timeout, so nothing is retried) is subscribed beside a good `WebhookReceiver`; five strike reports
that each fire their own alert arrive one a second. The good receiver gets each alert within `GOOD_DELAY_S` of
its record on the `alerts` topic, in the order of the topic; the slow one gets all five too, one after the
other, in the same order. Before lanes, the good receiver's delays grew by `HANG_S` per alert.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from alerts.signing import IDEMPOTENCY_HEADER
from schemas import Alert, StrikeReport, Subscription
from streams import topics
from streams.app import build_app
from streams.demo import subscribe, worker_env
from streams.producer import FeedProducer
from streams.reader import TopicReader
from streams.receiver import WebhookReceiver
from streams.settings import SalvoSettings

pytestmark = pytest.mark.broker

RULES = Path(__file__).with_name("large-salvo.rules.yaml")  # one report of 400 drones: one critical alert
HANG_S = 10.0
GOOD_DELAY_S = 2.0
TOKEN = "e2e-isolation-token-0123456789ab"


class HangingReceiver:
    """An aiohttp server that answers every POST with 200, but only `hang_s` after it arrived."""

    def __init__(self, hang_s: float) -> None:
        self.hang_s = hang_s
        self.arrived: list[tuple[str, float]] = []  # (idempotency key, wall time), every request
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.arrived.append((request.headers.get(IDEMPOTENCY_HEADER, ""), time.time()))
        await asyncio.sleep(self.hang_s)
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def good() -> AsyncIterator[WebhookReceiver]:
    receiver = await WebhookReceiver(secret=secrets.token_hex(16)).start()
    yield receiver
    await receiver.stop()


@pytest.fixture
async def hanging() -> AsyncIterator[HangingReceiver]:
    receiver = HangingReceiver(HANG_S)
    await receiver.start()
    yield receiver
    await receiver.stop()


def night(n: int, drones: int = 400) -> StrikeReport:
    """A national report of night `n`: nights a day apart are separate incidents (tolerance 12 h)."""
    day = date(2025, 8, 1) + timedelta(days=n)
    return StrikeReport(
        id=f"night-{n}", time_start=f"{day}T18:00:00+03:00", time_end=f"{day + timedelta(days=1)}T05:00:00+03:00",
        model="Shahed-136/131", launched=drones, source="kpszsu/test",
    )  # fmt: skip


def webhook(name: str, url: str, secret: str, *, timeout_s: float = 10.0) -> Subscription:
    return Subscription.model_validate(
        {"name": name, "target": {"type": "webhook", "url": url, "secret": secret, "timeout_s": timeout_s}}
    )


def alerts_on_topic(settings: SalvoSettings, count: int, timeout_s: float = 30) -> list[tuple[Alert, float]]:
    """The first `count` alerts on the `alerts` topic, each with its record's time (seconds since the epoch)."""
    found: list[tuple[Alert, float]] = []
    deadline = time.monotonic() + timeout_s
    with TopicReader(settings, [topics.ALERTS]) as reader:
        while len(found) < count and time.monotonic() < deadline:
            found += [
                (Alert.model_validate_json(r.value), r.timestamp_ms / 1000) for r in reader.poll(1) if r.value
            ]
    return found


async def until(done: Callable[[], object], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)


def salvo(settings: SalvoSettings, *args: str) -> str:
    """The real CLI against the worker's API; it must exit 0."""
    api = ["--api-url", f"http://127.0.0.1:{settings.web_port}", "--api-token", TOKEN]
    run = subprocess.run(
        [sys.executable, "-m", "streams.cli", *args, *api],
        env=worker_env(settings), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, f"salvo {' '.join(args)}: {run.stdout}{run.stderr}"
    return run.stdout + run.stderr


async def test_a_hanging_receiver_costs_the_good_one_nothing(
    salvo_settings: SalvoSettings, start_worker, good: WebhookReceiver, hanging: HangingReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    subscribe(salvo_settings, webhook("slow", hanging.url, "slow-secret-0123456789", timeout_s=HANG_S + 20))
    subscribe(salvo_settings, webhook("good", good.url, good.secret))
    await asyncio.to_thread(start_worker, salvo_settings, rules=RULES)
    with FeedProducer(salvo_settings) as producer:
        for n in range(5):
            producer.send(night(n), partition=0)  # one partition: the rules see the nights in order
            producer.flush()
            await asyncio.sleep(1.0)

    await until(lambda: len(good.received) >= 5, timeout_s=60)
    alerts = await asyncio.to_thread(alerts_on_topic, salvo_settings, 5)
    keys = [alert.key for alert, _ in alerts]
    assert len(set(keys)) == 5, keys
    at = {alert.key: when for alert, when in alerts}
    delays = [round(got.at - at[got.key], 2) for got in good.received]
    with capsys.disabled():
        print(f"\ngood receiver's delays behind the alerts topic, beside a {HANG_S:.0f} s receiver: {delays} s")
    assert [got.key for got in good.received] == keys, "the good receiver gets every alert, in topic order"
    assert max(delays) <= GOOD_DELAY_S, f"good receiver's delays {delays} s behind a {HANG_S} s receiver"

    await until(lambda: len(hanging.arrived) >= 5, timeout_s=5 * HANG_S + 30)
    assert [key for key, _ in hanging.arrived] == keys, "the slow receiver gets them all too, once, in order"
    gaps = [b - a for (_, a), (_, b) in zip(hanging.arrived, hanging.arrived[1:], strict=False)]
    assert min(gaps) >= HANG_S - 0.5, "one request at a time to one subscription"
    assert good.rejected == 0


async def test_a_subscription_the_api_confirmed_survives_a_kill_9_one_second_later(
    salvo_settings: SalvoSettings, start_worker, good: WebhookReceiver
) -> None:
    settings = salvo_settings.model_copy(update={"api_token": TOKEN})
    worker = await asyncio.to_thread(start_worker, settings, rules=RULES)
    added = await asyncio.to_thread(
        salvo, settings, "subscribe", "add", "desk", "--webhook", good.url, "--secret", good.secret,
        "--min-severity", "critical",
    )  # fmt: skip
    assert "desk" in added
    await asyncio.sleep(1.0)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)

    await asyncio.to_thread(start_worker, settings, rules=RULES)
    # The API lists the worker's copy of the topic, which the new worker reads from the start after /metrics
    # answers (an empty list until then), so ask until the copy is in or the time is up.
    listed: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while not listed and time.monotonic() < deadline:
        listed = json.loads(await asyncio.to_thread(salvo, settings, "subscribe", "list", "--json"))
        await asyncio.sleep(0.5)
    assert [(sub["name"], sub["filters"]["min_severity"]) for sub in listed] == [("desk", "critical")]
    with FeedProducer(settings) as producer:
        producer.send(night(0), partition=0)
    await until(lambda: len(good.received) >= 1, timeout_s=60)
    assert [got.body["alert"]["severity"] for got in good.received] == ["critical"]
    # Issue 12 on the same real worker: the secrets were sealed on the topic and opened to sign the delivery
    # (the receiver verified its signature), and the listing shows the target masked.
    with TopicReader(settings, [topics.SUBSCRIPTIONS]) as reader:
        stored = b"".join(record.value or b"" for record in reader.poll(5))
    assert b"desk" in stored and b"sealed:v1:" in stored
    assert good.secret.encode() not in stored and good.url.encode() not in stored
    assert listed[0]["target"]["url"] != good.url and good.secret not in json.dumps(listed)


def test_the_worker_producer_waits_for_every_in_sync_replica(salvo_settings: SalvoSettings) -> None:
    """The API's confirmation awaits the broker's acknowledgement, which means "all in-sync replicas" only with
    acks=all: faust's default (`producer_acks` -1), which the worker must keep."""
    assert build_app(salvo_settings).conf.producer_acks == -1


async def test_sigterm_stops_the_worker_without_an_error_line(
    salvo_settings: SalvoSettings, start_worker, good: WebhookReceiver, tmp_path: Path
) -> None:
    subscribe(salvo_settings, webhook("good", good.url, good.secret))
    worker = await asyncio.to_thread(start_worker, salvo_settings, rules=RULES)
    with FeedProducer(salvo_settings) as producer:
        producer.send(night(0), partition=0)
    await until(lambda: len(good.received) >= 1, timeout_s=60)
    assert good.received, "delivery ran, so its Kafka producer and HTTP client exist"

    worker.send_signal(signal.SIGTERM)
    await asyncio.to_thread(worker.wait, 30)
    log = (tmp_path / "worker-0.log").read_text()
    errors = [line for line in log.splitlines() if re.search(r"\b(ERROR|CRITICAL)\b", line)]
    assert errors == [], "\n".join(errors)
