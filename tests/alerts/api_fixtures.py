"""A worker-shaped API for tests: the real `Api` over dict views and a real Deliverer, on a real server."""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import UTC, datetime

import httpx
from aiohttp import web
from prometheus_client import CollectorRegistry

from alerts.api import Api, ApiBackend
from alerts.channels import ChannelsConfig, build_channels
from alerts.delivery import Deliverer, DeliveryMetrics
from alerts.egress import TargetPolicy, egress_client
from alerts.outbox import Outbox
from alerts.rules import default_rules
from schemas.alert import Alert
from schemas.delivery import Ack, DeliveryRecord, Silence
from schemas.subscription import Subscription
from streams.broker import LOOPBACK_NETWORKS
from tests.alerts.channels.fixtures import Receiver

TOKEN = "test-token-0123456789"
# The receivers are on loopback: opened as an operator would open a local one, and nothing else.
POLICY = TargetPolicy.from_setting(LOOPBACK_NETWORKS)


class ApiWorker:
    """What `streams/app.py` wires, reduced to dicts: publishing writes straight into the views."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, Subscription] = {}
        self.silences: dict[str, Silence] = {}
        self.incidents: dict[str, Alert] = {}
        self.acks: dict[str, Ack] = {}
        self.store: dict = {}
        self.log: list[DeliveryRecord] = []
        self.receiver = Receiver()
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._http: httpx.AsyncClient | None = None
        self.deliverer: Deliverer | None = None

    async def _publish_subscription(self, name: str, sub: Subscription | None) -> None:
        if sub is None:
            self.subscriptions.pop(name, None)
        else:
            self.subscriptions[name] = sub

    async def _publish_silence(self, silence_id: str, silence: Silence | None) -> None:
        if silence is not None:
            self.silences[silence_id] = silence

    async def _publish_ack(self, ack: Ack) -> None:
        self.acks[ack.incident] = ack

    async def _record(self, record: DeliveryRecord) -> None:
        self.log.append(record)

    async def _redrive(self, key: str) -> None:
        assert self.deliverer is not None
        await self.deliverer.redrive(key, now=datetime.now(UTC))

    async def start(self) -> None:
        await self.receiver.start()
        self._http = egress_client(POLICY)
        outbox = Outbox(self.store)
        self.deliverer = Deliverer(
            channels=build_channels(ChannelsConfig(), http=self._http), outbox=outbox,
            subscriptions=self.subscriptions, silences=self.silences, record=self._record,
            metrics=DeliveryMetrics(CollectorRegistry()), rng=random.Random(1), acks=self.acks,
        )  # fmt: skip
        backend = ApiBackend(
            subscriptions=self.subscriptions, silences=self.silences, outbox=outbox,
            publish_subscription=self._publish_subscription, publish_silence=self._publish_silence,
            redrive=self._redrive, send_test=self.deliverer.send_direct, vet=POLICY.vet,
            labels=default_rules().label_names(), incidents=self.incidents, acks=self.acks,
            publish_ack=self._publish_ack,
        )  # fmt: skip
        app = web.Application()
        app.router.add_routes(Api(backend, token=TOKEN).routes())
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.aclose()
        await self.receiver.stop()


class ThreadedApiWorker:
    """An `ApiWorker` on its own event loop in a thread, for the synchronous CLI to talk to."""

    def __init__(self) -> None:
        self.worker = ApiWorker()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def __enter__(self) -> ApiWorker:
        self._thread.start()
        self.run(self.worker.start())
        return self.worker

    def __exit__(self, *exc: object) -> None:
        self.run(self.worker.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
