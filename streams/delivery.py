"""The worker's delivery adapter: the pure `Deliverer` wired to a Faust outbox table, Kafka and the API.

Delivery runs on the one-partition `alerts` topic, so one worker owns the outbox at a time and every
outbox write happens inside stream iteration (a Faust table refuses writes from anywhere else): due
retries and API redrives arrive as records of the one-partition `control` topic, never as direct writes.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import faust
import httpx
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from alerts.api import Api, ApiBackend
from alerts.channels import ChannelsConfig, build_channels
from alerts.delivery.metrics import DeliveryMetrics
from alerts.delivery.pipeline import Deliverer
from alerts.outbox import Outbox
from schemas import Alert, Subscription
from schemas.delivery import DeliveryRecord, Silence
from streams import topics
from streams.settings import SalvoSettings
from streams.views import CompactedView


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Control:
    """A record of the `control` topic: the clock, and optionally one outbox entry to redrive."""

    now: datetime
    redrive: str | None = None

    def encode(self) -> bytes:
        """The record value."""
        return json.dumps({"now": self.now.isoformat(), "redrive": self.redrive}).encode()

    @classmethod
    def decode(cls, value: bytes) -> Control:
        """Parse a record value written by `encode`."""
        data = json.loads(value)
        return cls(now=datetime.fromisoformat(data["now"]), redrive=data.get("redrive"))


class Notifier:
    """Routes each alert version to its subscribers through the delivery stages, and logs every outcome."""

    def __init__(
        self, app: faust.App, settings: SalvoSettings, registry: CollectorRegistry, control: faust.TopicT
    ) -> None:
        def topic(name: str) -> faust.TopicT:
            return app.topic(settings.topic(name), key_serializer="raw", value_serializer="raw", partitions=1)

        self.settings = settings
        self.control = control
        self.log = topic(topics.DELIVERY_LOG)
        self.subscriptions_topic = topic(topics.SUBSCRIPTIONS)
        self.silences_topic = topic(topics.SILENCES)
        self.subscriptions: CompactedView[Subscription] = CompactedView(
            settings.topic(topics.SUBSCRIPTIONS), Subscription, bootstrap_servers=settings.bootstrap_servers
        )
        self.silences: CompactedView[Silence] = CompactedView(
            settings.topic(topics.SILENCES), Silence, bootstrap_servers=settings.bootstrap_servers
        )
        self.outbox_table = app.Table(
            "outbox", partitions=1, help="Delivery outbox per (alert version, subscription), and its position."
        )
        self.outbox = Outbox(self.outbox_table)
        self.metrics = DeliveryMetrics(registry)
        self._deliverer: Deliverer | None = None
        self._building = asyncio.Lock()

    async def deliverer(self) -> Deliverer:
        """Built on first use, inside the worker's event loop, which its HTTP and Kafka clients belong to."""
        async with self._building:
            if self._deliverer is None:
                producer = AIOKafkaProducer(bootstrap_servers=self.settings.bootstrap_servers, acks="all")
                await producer.start()
                self._deliverer = Deliverer(
                    channels=build_channels(ChannelsConfig(), http=httpx.AsyncClient(), producer=producer),
                    outbox=self.outbox,
                    subscriptions=self.subscriptions,
                    silences=self.silences,
                    record=self.record,
                    metrics=self.metrics,
                )
        return self._deliverer

    async def record(self, record: DeliveryRecord) -> None:
        """Publish one outcome to `deliveries.log`, keyed by its outbox key."""
        await self.log.send(key=record.outbox_key.encode(), value=record.model_dump_json().encode())

    async def deliver(self, alert: Alert) -> None:
        """Route one alert version and run the delivery stages for each subscription it reaches."""
        await self.subscriptions.ready.wait()
        await (await self.deliverer()).submit(alert, now=_now())

    async def on_control(self, control: Control) -> None:
        """Redrive one entry if asked, then attempt due retries and Alertmanager re-sends."""
        await self.subscriptions.ready.wait()
        deliverer = await self.deliverer()
        if control.redrive is not None:
            try:
                await deliverer.redrive(control.redrive, now=control.now)
            except KeyError:
                pass  # the API checked the key; an entry pruned since then has nothing left to resend
        await deliverer.tick(now=control.now)

    async def follow_views(self) -> None:
        """Keep this worker's copies of subscriptions and silences current."""
        await asyncio.gather(self.subscriptions.follow(), self.silences.follow())

    def api(self) -> Api:
        """The subscription, silence and delivery API over this worker's views and topics."""

        async def publish_subscription(name: str, subscription: Subscription | None) -> None:
            value = subscription.model_dump_json().encode() if subscription is not None else None
            await self.subscriptions_topic.send(key=name.encode(), value=value)
            self.subscriptions.apply(name.encode(), value)

        async def publish_silence(silence_id: str, silence: Silence | None) -> None:
            value = silence.model_dump_json().encode() if silence is not None else None
            await self.silences_topic.send(key=silence_id.encode(), value=value)
            self.silences.apply(silence_id.encode(), value)

        async def redrive(key: str) -> None:
            await self.control.send(value=Control(now=_now(), redrive=key).encode())

        async def send_test(subscription: Subscription, alert: Alert, now: datetime) -> None:
            await (await self.deliverer()).send_direct(subscription, alert, now)

        token = self.settings.api_token.get_secret_value() if self.settings.api_token else None
        backend = ApiBackend(
            subscriptions=self.subscriptions,
            silences=self.silences,
            outbox=self.outbox,
            publish_subscription=publish_subscription,
            publish_silence=publish_silence,
            redrive=redrive,
            send_test=send_test,
        )
        return Api(backend, token=token)
