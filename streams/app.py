"""The Faust app: agents that carry feed items to classified events, alerts and deliveries.

Topology (README, "How it flows"):
    news.raw ─┐                          ┌─> events.late
              ├─ ingest ─> events.classified ─ rules ─> alerts ─ notify ─> channels, deliveries.log
 strikes.raw ─┘    └─> deadletter           control (clock ticks) ─┴────────────┘
The agents are thin: decoding, classification and rules are the pure functions the backtest runs too.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from aiohttp import web
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import EventT
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from alerts.engine import RuleEngine
from alerts.metrics import AlertMetrics
from alerts.rules import RuleSet, default_rules, load_rules
from schemas import Alert, ClassifiedEvent, DeadLetter, NewsItem, RejectReason, Replay, StrikeReport
from streams import topics
from streams.classify import Classifier
from streams.delivery import Control, Notifier
from streams.events import news_event, strike_event
from streams.health import Readiness, add_health_routes
from streams.ingest import Rejection, decode
from streams.lag import ConsumerLag, LagMetrics
from streams.metrics import PipelineMetrics
from streams.producer import REPLAY_DELIVER_HEADER, REPLAY_HEADER
from streams.settings import SalvoSettings

log = logging.getLogger(__name__)

ErrorPolicy = Callable[[EventT, RejectReason, str, str], Any]


def _broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip()]


def _now() -> datetime:
    return datetime.now(UTC)


class Pipeline:
    """Everything the agents share, built once per app: topics, classifier, rule engine, metrics."""

    def __init__(
        self, app: faust.App, settings: SalvoSettings, registry: CollectorRegistry, rules: RuleSet
    ) -> None:
        self.settings = settings

        def topic(name: str, partitions: int | None = None) -> faust.TopicT:
            return app.topic(
                settings.topic(name),
                key_serializer="raw",
                value_serializer="raw",
                partitions=partitions,
                internal=False,
            )

        self.news = topic(topics.NEWS_RAW)
        self.strikes = topic(topics.STRIKES_RAW)
        self.events = topic(topics.EVENTS, 1)
        self.late = topic(topics.EVENTS_LATE, 1)
        self.alerts = topic(topics.ALERTS, 1)
        self.deadletter = topic(topics.DEADLETTER, 1)
        self.control = topic(topics.CONTROL, 1)
        self.control_name = self.control.get_topic_name()
        self.rules_in = app.topic(
            self.events.get_topic_name(), self.control_name, key_serializer="raw", value_serializer="raw"
        )
        self.notify_in = app.topic(
            self.alerts.get_topic_name(), self.control_name, key_serializer="raw", value_serializer="raw"
        )
        self.notifier = Notifier(app, settings, registry, self.control)
        self.seen = app.Table(
            "seen-items",
            partitions=settings.partitions,
            help="Digest and time of each item id, to drop exact repeats (a file replayed twice).",
        )
        self.metrics = PipelineMetrics(
            registry, topics={"news": self.news.get_topic_name(), "strikes": self.strikes.get_topic_name()}
        )
        self.classifier = Classifier()
        self.rule_state = app.Table(
            "rule-state", partitions=1, help="Rule engine state: watermark, windows, incidents, cooldowns."
        )
        self.engine = RuleEngine(
            rules,
            self.rule_state,
            allowed_lateness=settings.allowed_lateness,
            idle_origin=timedelta(seconds=settings.idle_origin_s),
            start_hold=timedelta(seconds=settings.start_hold_s),
            metrics=AlertMetrics(registry, rule_ids=[rule.id for rule in rules]),
        )
        self.lag_metrics = LagMetrics(registry)
        self._lag: ConsumerLag | None = None
        self.on_error: ErrorPolicy = self.dead_letter

    async def dead_letter(self, event: EventT, reason: RejectReason, error: str, stage: str) -> None:
        """Default error policy: keep the original bytes with the reason, count it, carry on."""
        message = event.message
        letter = DeadLetter.of(
            message.value if isinstance(message.value, bytes) else b"",
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            reason=reason,
            error=error,
            stage=stage,
            received_at=_now(),
        )
        self.metrics.dead_letters.labels(topic=message.topic, reason=reason.value).inc()
        log.warning("dead letter from %s[%s]@%s: %s", message.topic, message.partition, message.offset, error)
        await self.deadletter.send(key=message.key, value=letter.model_dump_json().encode())

    async def _validated(self, event: EventT, contract: type[BaseModel], feed: str) -> BaseModel | None:
        """The item, or None when it was dead-lettered or is an exact repeat within the dedup horizon."""
        self.metrics.messages_in.labels(topic=event.message.topic, feed=feed).inc()
        started = time.perf_counter()
        item = decode(event.value, contract, max_bytes=self.settings.max_message_bytes)
        self.metrics.stage_seconds.labels(stage="ingest").observe(time.perf_counter() - started)
        if isinstance(item, Rejection):
            await self.on_error(event, item.reason, item.error, "ingest")
            return None
        if isinstance(item, NewsItem | StrikeReport) and self.repeated(feed, item):
            self.metrics.duplicates.labels(feed=feed).inc()
            return None
        return item

    def repeated(self, feed: str, item: NewsItem | StrikeReport) -> bool:
        """An item id seen with the same content within the horizon is a repeat; new content is an update."""
        key = f"{feed}:{item.id}"
        digest = hashlib.sha256(item.model_dump_json().encode()).hexdigest()[:32]
        now = time.time()
        previous = self.seen.get(key)
        if previous and previous["digest"] == digest and now - previous["at"] < self.settings.dedup_horizon_s:
            return True
        self.seen[key] = {"digest": digest, "at": now}
        return False

    def origin(self, event: EventT) -> str:
        """Where an item was read ("strikes.raw/1"): event time is only ordered within one partition."""
        return f"{event.message.topic.removeprefix(self.settings.topic_prefix)}/{event.message.partition}"

    async def _emit(self, classified: ClassifiedEvent) -> None:
        self.metrics.observe_event(classified)
        await self.events.send(key=classified.id.encode(), value=classified.model_dump_json().encode())

    async def ingest_news(self, event: EventT) -> None:
        """Validate, classify and forward one news item."""
        item = await self._validated(event, NewsItem, "news")
        if item is None:
            return
        assert isinstance(item, NewsItem)
        started = time.perf_counter()
        classification = self.classifier.classify(item.text, lang=item.lang)
        self.metrics.stage_seconds.labels(stage="classify").observe(time.perf_counter() - started)
        await self._emit(
            news_event(
                item, classification, ingested_at=_now(), origin=self.origin(event), replay=_replay_of(event)
            )
        )

    async def ingest_strike(self, event: EventT) -> None:
        """Validate one strike report and forward it as an attack event."""
        report = await self._validated(event, StrikeReport, "strikes")
        if report is None:
            return
        assert isinstance(report, StrikeReport)
        await self._emit(
            strike_event(report, ingested_at=_now(), origin=self.origin(event), replay=_replay_of(event))
        )

    async def evaluate(self, event: EventT) -> None:
        """Run the rules on one classified event, or advance the clock on a tick."""
        started = time.perf_counter()
        if event.message.topic == self.control_name:
            alerts = self.engine.advance(Control.decode(event.value).now)
        else:
            classified = decode(event.value, ClassifiedEvent, max_bytes=self.settings.max_message_bytes)
            if isinstance(classified, Rejection):
                await self.on_error(event, classified.reason, classified.error, "rules")
                return
            outcome = self.engine.process(classified)
            if outcome.late:
                await self.late.send(key=event.key, value=event.value)
            alerts = outcome.alerts
        self.metrics.stage_seconds.labels(stage="rules").observe(time.perf_counter() - started)
        for alert in alerts:
            await self.publish_alert(alert)

    async def publish_alert(self, alert: Alert) -> None:
        """Put one alert version on the `alerts` topic, keyed by its id so versions stay in order."""
        await self.alerts.send(key=alert.id.encode(), value=alert.model_dump_json().encode())

    async def notify(self, event: EventT) -> None:
        """Deliver one alert version, or drive due retries on a tick."""
        started = time.perf_counter()
        if event.message.topic == self.control_name:
            await self.notifier.on_control(Control.decode(event.value))
            return
        alert = decode(event.value, Alert, max_bytes=self.settings.max_message_bytes)
        if isinstance(alert, Rejection):
            await self.on_error(event, alert.reason, alert.error, "deliver")
            return
        await self.notifier.deliver(alert)
        self.metrics.stage_seconds.labels(stage="deliver").observe(time.perf_counter() - started)

    async def measure_lag(self) -> None:
        """Refresh the lag gauges; the monitor connects on first use, so building the app needs no broker."""
        if self._lag is None:
            consumed = [
                t.get_topic_name() for t in (self.news, self.strikes, self.events, self.alerts, self.control)
            ]
            self._lag = await asyncio.to_thread(
                ConsumerLag,
                self.settings.bootstrap_servers,
                group=self.settings.app_id,
                topics=consumed,
                metrics=self.lag_metrics,
                client_id=self.settings.app_id,
            )
        await asyncio.to_thread(self._lag.refresh)

    async def tick(self) -> None:
        """Send the wall clock through `control`: table writes must happen inside stream iteration."""
        await self.control.send(value=Control(now=_now()).encode())


def _replay_of(event: EventT) -> Replay | None:
    """The replay marking a `salvo replay` run puts in its headers, if any."""
    headers = dict(event.headers or {})
    label = headers.get(REPLAY_HEADER)
    if not label:
        return None
    return Replay(label=label.decode(), deliver=headers.get(REPLAY_DELIVER_HEADER) == b"1")


def build_app(
    settings: SalvoSettings,
    *,
    registry: CollectorRegistry | None = None,
    rules: RuleSet | None = None,
    on_error: ErrorPolicy | None = None,
) -> faust.App:
    """A Faust app for these settings; `app.salvo` is the `Pipeline` its agents share.

    :param registry: where the metrics go (default: a new one; tests pass their own).
    :param rules: the rules to run (default: `SALVO_RULES_FILE`, else the shipped rules).
    :param on_error: what to do with a message that cannot be processed (default: dead-letter it with the
        reason and count it); called with the event, the reason, the error text and the stage, it must not
        raise, because the worker carries on either way.
    """
    registry = registry or CollectorRegistry()
    extra: dict[str, Any] = {}
    if settings.producer_max_batch_size is not None:
        extra["producer_max_batch_size"] = settings.producer_max_batch_size
    app = faust.App(
        settings.app_id,
        broker=_broker_urls(settings.bootstrap_servers),
        store=settings.store,
        datadir=str(settings.data_dir),
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        producer_linger=settings.producer_linger_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
        **extra,
    )
    if settings.faust_sensor:
        # Faust's own sensor (rebalances, commit and send latency, table operations) on Salvo's registry, under
        # its own `faust_` prefix, so nothing clashes with `salvo_*` or with another app in the same process.
        app.monitor = PrometheusMonitor(metrics=FaustMetrics.create(registry, "faust"))
    if rules is None:
        rules = load_rules(settings.rules_file) if settings.rules_file else default_rules()
    pipeline = Pipeline(app, settings, registry, rules)
    if on_error is not None:
        pipeline.on_error = on_error
    app.salvo = pipeline  # type: ignore[attr-defined]

    def agent(handler: Callable[[EventT], Any], stage: str) -> Callable[[faust.StreamT], AsyncIterator[None]]:
        """An agent body: each event through `handler`; a failure goes to the error policy, never up."""

        async def consume(stream: faust.StreamT) -> AsyncIterator[None]:
            async for event in stream.events():
                try:
                    await handler(event)
                except Exception as exc:  # the worker must carry on: the policy dead-letters the message
                    log.exception("%s failed on %s@%s", stage, event.message.topic, event.message.offset)
                    await pipeline.on_error(event, RejectReason.PROCESSING, f"{type(exc).__name__}: {exc}", stage)
                yield None

        return consume

    for channel, handler, name, stage in (
        (pipeline.news, pipeline.ingest_news, "ingest-news", "ingest"),
        (pipeline.strikes, pipeline.ingest_strike, "ingest-strikes", "ingest"),
        (pipeline.rules_in, pipeline.evaluate, "rules", "rules"),
        (pipeline.notify_in, pipeline.notify, "notify", "deliver"),
    ):
        app.agent(channel, name=name)(agent(handler, stage))

    @app.task
    async def follow_views() -> None:
        await pipeline.notifier.follow_views()

    @app.timer(settings.tick_interval_s)
    async def tick() -> None:
        await pipeline.tick()

    async def metrics(_request: web.Request) -> web.Response:
        # Set as a raw header: aiohttp's content_type argument refuses the charset Prometheus' type carries.
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.web.web_app.router.add_get("/metrics", metrics)
    app.web.web_app.router.add_routes(pipeline.notifier.api().routes())
    add_health_routes(
        app.web.web_app.router,
        Readiness(
            connected=lambda: app.producer.started and app.consumer.started,
            assigned=lambda: bool(app.consumer.assignment()) and not app.rebalancing,
            recovered=lambda: app.tables.recovery.completed.is_set(),
        ),
    )

    @app.timer(settings.lag_interval_s)
    async def measure_lag() -> None:
        await pipeline.measure_lag()

    return app
