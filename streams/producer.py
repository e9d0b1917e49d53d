"""Producing feed items to the raw topics with kafka-python: the plain client for tools, CLI and replay."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType

from kafka import KafkaProducer

from streams.settings import SalvoSettings
from streams.sources import FeedItem, event_time, feed_of

REPLAY_HEADER = "salvo-replay"
REPLAY_DELIVER_HEADER = "salvo-replay-deliver"


def raw_topic(item: FeedItem) -> str:
    """The raw topic an item belongs on, before the prefix: "news.raw", "strikes.raw" or "airraid.raw"."""
    return f"{feed_of(item)}.raw"


class FeedProducer:
    """Sends validated items keyed by their id, with the event time as record timestamp."""

    def __init__(self, settings: SalvoSettings, *, replay: str | None = None, deliver: bool = False) -> None:
        """:param replay: a replay label sent as the `salvo-replay` header, so alerts know they are replayed.
        :param deliver: with `replay`, let the replay's alerts reach subscribers (`salvo-replay-deliver`).
        """
        self.settings = settings
        self.headers = [(REPLAY_HEADER, replay.encode())] if replay else []
        if replay and deliver:
            self.headers.append((REPLAY_DELIVER_HEADER, b"1"))
        self._producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            client_id=f"{settings.app_id}-producer",
            acks="all",
            linger_ms=5,
        )

    def send(self, item: FeedItem, *, partition: int | None = None) -> None:
        """Queue one item; `flush` (or leaving the context) waits until the broker has it.

        :param partition: by default the key (item id) picks the partition, so an air-raid alert's start and
            end share one; a replay pins one partition so the worker sees its event-time order.
        """
        self.send_raw(
            raw_topic(item),
            item.model_dump_json().encode(),
            key=item.id.encode(),
            timestamp_ms=int(event_time(item).timestamp() * 1000),
            partition=partition,
        )

    def send_raw(
        self, topic: str, value: bytes, *, key: bytes | None = None, timestamp_ms: int | None = None,
        partition: int | None = None,
    ) -> None:
        """Queue raw bytes on one of Salvo's topics (by its unprefixed name), e.g. to test dead-lettering."""
        self._producer.send(
            self.settings.topic(topic), value=value, key=key, timestamp_ms=timestamp_ms, headers=self.headers,
            partition=partition,
        )

    def publish(self, items: Iterable[FeedItem]) -> None:
        """Send every item and wait until the broker has them all: what a connector marks sent after."""
        for item in items:
            self.send(item)
        self.flush()

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until every queued item is acknowledged."""
        self._producer.flush(timeout=timeout_s)

    def close(self) -> None:
        """Flush and close the connection."""
        self._producer.close(timeout=30)

    def __enter__(self) -> FeedProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
