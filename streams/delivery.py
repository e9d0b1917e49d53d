"""The worker's delivery adapter: the pure `Deliverer` wired to a Faust outbox table, lanes, Kafka and the API.

Delivery runs on the one-partition `alerts` topic, so one worker owns the outbox at a time. The agent routes
each alert, enqueues its outbox entries, waits until the changelog has them, and hands the sends to one lane
per subscription (`alerts.delivery.lanes`) without waiting for them: a slow receiver holds up only itself.
The lanes write their outcomes after the agent has moved on, so the outbox is written through a
`ChangelogWriter` (its store and its one changelog partition, directly) and keeps a memory store, rebuilt
from the changelog at start, as the rule state does: Faust's own table writes, and its RocksDB store, need
the current stream event, which a lane does not have. Due retries and API redrives still arrive as records
of the one-partition `control` topic, so the worker that owns the outbox is the one that acts on them.

Crash reasoning (kill -9 at any moment; at-least-once with one idempotency key per alert version):

- an alert's entries are acknowledged on the changelog before its sends start and before its input position
  (`Outbox.handled`, written after them on the same partition) can be: a position that survived means its
  entries did;
- an entry stays `pending` until its receiver said yes and the outcome was written, so a send in flight, or
  still queued in a lane, at a crash is found due by the first tick after the restart and sent again;
- the lanes stop when the worker stops or the `alerts` partition is revoked; what they held is pending, for
  the next owner's ticks.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
import httpx
from aiokafka import AIOKafkaProducer
from faust.types import TP
from prometheus_client import CollectorRegistry

from alerts.api import Api, ApiBackend
from alerts.channels import ChannelsConfig, build_channels
from alerts.delivery.lanes import Lanes
from alerts.delivery.metrics import DeliveryMetrics
from alerts.delivery.pipeline import Deliverer
from alerts.egress import egress_client
from alerts.outbox import Outbox
from schemas import Alert, Subscription
from schemas.delivery import Ack, DeliveryRecord, Silence
from schemas.secrets import SEAL
from streams import topics
from streams.settings import SalvoSettings
from streams.views import CompactedView
from streams.worker.changelog import ChangelogWriter


def _now() -> datetime:
    return datetime.now(UTC)


async def _stored(topic: faust.TopicT, view: CompactedView[Any], key: str, value: bytes | None) -> None:
    """Write one record of a compacted topic, return once the broker acknowledged it, and apply it to this
    worker's view at once (the view's own reader catches up later).

    `send` only queues the record; awaiting what it returns waits for the broker, which answers after all
    in-sync replicas have it (faust's `producer_acks` defaults to -1, "all"). The API answers after this,
    so what it confirmed survives a crash of the worker a moment later.
    """
    await (await topic.send(key=key.encode(), value=value))
    view.apply(key.encode(), value)


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
        self.sealing = {SEAL: settings.sealer}  # secrets are sealed on the topic, opened in this view
        self.policy = settings.target_policy
        self.subscriptions: CompactedView[Subscription] = CompactedView(
            settings.topic(topics.SUBSCRIPTIONS), Subscription, bootstrap_servers=settings.bootstrap_servers,
            context=self.sealing,
        )
        self.silences: CompactedView[Silence] = CompactedView(
            settings.topic(topics.SILENCES), Silence, bootstrap_servers=settings.bootstrap_servers
        )
        self.acks_topic = topic(topics.ACKS)
        self.acks: CompactedView[Ack] = CompactedView(
            settings.topic(topics.ACKS), Ack, bootstrap_servers=settings.bootstrap_servers
        )
        # Each incident's latest version, for `salvo incidents` (the alerts topic is keyed by alert id and has
        # one partition, so the newest record of a key is its latest version).
        self.incidents: CompactedView[Alert] = CompactedView(
            settings.topic(topics.ALERTS), Alert, bootstrap_servers=settings.bootstrap_servers
        )
        self.outbox_table = app.Table(
            "outbox",
            partitions=1,
            store="memory://outbox",  # a bare "memory://" is falsy to faust, which then takes the app's store
            help="Delivery outbox per (alert version, subscription), and its position.",
        )
        self.writer = ChangelogWriter(self.outbox_table)
        self.outbox = Outbox(self.writer)
        self.lanes = Lanes(clock=_now)
        self.metrics = DeliveryMetrics(registry)
        self._deliverer: Deliverer | None = None
        self._clients: tuple[httpx.AsyncClient, AIOKafkaProducer] | None = None
        self._building = asyncio.Lock()
        alerts = TP(settings.topic(topics.ALERTS), 0)

        async def revoked(_app: faust.App, revoked: set[TP], **_: Any) -> None:
            if alerts in revoked:  # another worker may deliver now: its ticks take over what the lanes held
                await self.lanes.stop()

        async def stopping(_app: faust.App, **_: Any) -> None:
            await self.close()

        app.on_partitions_revoked.connect(revoked)
        app.on_before_shutdown.connect(stopping)

    async def deliverer(self) -> Deliverer:
        """Built on first use, inside the worker's event loop, which its HTTP and Kafka clients belong to."""
        async with self._building:
            if self._deliverer is None:
                producer = AIOKafkaProducer(bootstrap_servers=self.settings.bootstrap_servers, acks="all")
                await producer.start()
                http = egress_client(self.policy)
                self._clients = (http, producer)
                self._deliverer = Deliverer(
                    channels=build_channels(ChannelsConfig(), http=http, producer=producer),
                    outbox=self.outbox,
                    subscriptions=self.subscriptions,
                    silences=self.silences,
                    acks=self.acks,
                    record=self.record,
                    metrics=self.metrics,
                    run=self.lanes,
                    durable=self.writer.acknowledged,
                )
        return self._deliverer

    async def close(self) -> None:
        """Stop the lanes, then close the channels' HTTP client and Kafka producer (the next use builds new ones).

        Called when the worker stops: an `AIOKafkaProducer` left open logs an error at exit, and operators
        must be able to trust that an ERROR line means trouble.
        """
        await self.lanes.stop()
        async with self._building:
            if self._clients is not None:
                http, producer = self._clients
                self._clients, self._deliverer = None, None
                await http.aclose()
                await producer.stop()

    async def record(self, record: DeliveryRecord) -> None:
        """Publish one outcome to `deliveries.log`, keyed by its outbox key."""
        await self.log.send(key=record.outbox_key.encode(), value=record.model_dump_json().encode())

    async def deliver(self, alert: Alert) -> None:
        """Route one alert version and enqueue it for each subscription it reaches; return once the entries
        are on the changelog, with the sends handed to the lanes."""
        await self.subscriptions.ready.wait()
        await (await self.deliverer()).submit(alert, now=_now())

    async def on_control(self, control: Control) -> None:
        """Redrive one entry if asked, then hand due retries and Alertmanager re-sends to the lanes."""
        await self.subscriptions.ready.wait()
        deliverer = await self.deliverer()
        if control.redrive is not None:
            try:
                await deliverer.redrive(control.redrive, now=control.now)
            except KeyError:
                pass  # the API checked the key; an entry pruned since then has nothing left to resend
        await deliverer.tick(now=control.now)

    async def follow_views(self) -> None:
        """Keep this worker's copies of subscriptions, silences, acknowledgements and incidents current."""
        await asyncio.gather(self.subscriptions.follow(), self.silences.follow(), self.acks.follow(),
                             self.incidents.follow())

    def api(self, *, labels: frozenset[str]) -> Api:
        """The subscription, silence, incident and delivery API over this worker's views and topics.

        :param labels: the label names the worker's rules give their alerts (what silences may match)."""

        async def publish_subscription(name: str, subscription: Subscription | None) -> None:
            value = None
            if subscription is not None:
                value = subscription.model_dump_json(context=self.sealing).encode()
            await _stored(self.subscriptions_topic, self.subscriptions, name, value)

        async def publish_silence(silence_id: str, silence: Silence | None) -> None:
            value = silence.model_dump_json().encode() if silence is not None else None
            await _stored(self.silences_topic, self.silences, silence_id, value)

        async def publish_ack(ack: Ack) -> None:
            await _stored(self.acks_topic, self.acks, ack.incident, ack.model_dump_json().encode())

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
            vet=self.policy.vet,
            labels=labels,
            incidents=self.incidents,
            acks=self.acks,
            publish_ack=publish_ack,
        )
        return Api(backend, token=token)
