"""The worker's delivery adapter: the pure `Deliverer` wired to a Faust outbox table and Kafka views.

Delivery runs on the one-partition `alerts` topic, so one worker owns the outbox at a time and every
outbox write happens inside stream iteration (a Faust table refuses writes from anywhere else): retries
that fall due are driven by records of the one-partition `control` topic, not by a timer writing to it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import faust
import httpx
from prometheus_client import CollectorRegistry

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


class Notifier:
    """Routes each alert version to its subscribers through the delivery stages, and logs every outcome."""

    def __init__(self, app: faust.App, settings: SalvoSettings, registry: CollectorRegistry) -> None:
        self.log = app.topic(
            settings.topic(topics.DELIVERY_LOG), key_serializer="raw", value_serializer="raw", partitions=1
        )
        self.subscriptions: CompactedView[Subscription] = CompactedView(
            settings.topic(topics.SUBSCRIPTIONS), Subscription, bootstrap_servers=settings.bootstrap_servers
        )
        self.silences: CompactedView[Silence] = CompactedView(
            settings.topic(topics.SILENCES), Silence, bootstrap_servers=settings.bootstrap_servers
        )
        self.outbox_table = app.Table(
            "outbox", partitions=1, help="Delivery outbox: state of every (alert version, subscription)."
        )
        self.metrics = DeliveryMetrics(registry)
        self._deliverer: Deliverer | None = None

    def deliverer(self) -> Deliverer:
        """Built on first use, inside the worker's event loop, which the HTTP client must belong to."""
        if self._deliverer is None:
            self._deliverer = Deliverer(
                channels=build_channels(ChannelsConfig(), http=httpx.AsyncClient()),
                outbox=Outbox(self.outbox_table),
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
        await self.deliverer().submit(alert, now=_now())

    async def tick(self, now: datetime) -> None:
        """Attempt the retries that fell due and the Alertmanager re-sends."""
        await self.subscriptions.ready.wait()
        await self.deliverer().tick(now=now)

    async def follow_views(self) -> None:
        """Keep this worker's copies of subscriptions and silences current."""
        await asyncio.gather(self.subscriptions.follow(), self.silences.follow())
