"""`salvo replay`: historical files back onto the raw topics, in event-time order, at a chosen speed.

Each record's Kafka timestamp is its event time, so downstream windows and retention see history as it
happened. Replayed items carry the `salvo-replay` header: their alerts reach subscribers only with
`--deliver`, so a rehearsal never pages anyone by accident.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from schemas import ClassifiedEvent
from streams import topics
from streams.lag import true_end_offsets
from streams.plausible import DEFAULT_BOUNDS, TimeBounds
from streams.producer import FeedProducer
from streams.settings import SalvoSettings
from streams.sources import FeedItem, FileFormat, FileRejection, event_time, feed_of, read_feeds


@dataclass
class ReplaySummary:
    """What a replay did: items per feed, rows refused (file:line: reason) and how long it took."""

    sent: Counter[str] = field(default_factory=Counter)
    rejected: list[FileRejection] = field(default_factory=list)
    skipped_out_of_range: int = 0
    elapsed_s: float = 0.0
    first: datetime | None = None
    last: datetime | None = None

    @property
    def total(self) -> int:
        """Items produced."""
        return sum(self.sent.values())


def load(
    paths: Iterable[Path],
    *,
    file_format: FileFormat = "auto",
    since: date | None = None,
    until: date | None = None,
    summary: ReplaySummary,
    bounds: TimeBounds = DEFAULT_BOUNDS,
    now: datetime | None = None,
) -> list[FeedItem]:
    """Every item of the files within [since, until], in the backtest's order; bad rows, and items dated
    where the worker would not believe them (`bounds` at `now`), go to the summary."""
    feed = read_feeds(paths, file_format=file_format, since=since, until=until, bounds=bounds, now=now)
    summary.rejected += feed.rejected
    summary.skipped_out_of_range += feed.out_of_range
    return [item for _, _, item in feed.items]


Progress = Callable[[FeedItem, ReplaySummary], None]

# Every replayed item goes to one partition of its raw topic: Kafka orders a partition, not a topic, so the
# worker then sees each feed in the replay's event-time order, which is the backtest's order.
REPLAY_PARTITION = 0


def replay(
    items: Iterable[FeedItem],
    producer: FeedProducer,
    *,
    speed: float | None,
    summary: ReplaySummary,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplaySummary:
    """Produce the items; with `speed`, wait (event-time gap / speed) between items, else go flat out.

    Pacing follows the event-time clock from the first item, not item to item, so rounding never drifts.
    """
    started = time.monotonic()
    for item in items:
        moment = event_time(item)
        if summary.first is None:
            summary.first = moment
        if speed:
            due = (moment - summary.first).total_seconds() / speed
            ahead = due - (time.monotonic() - started)
            if ahead > 0:
                sleep(ahead)
        producer.send(item, partition=REPLAY_PARTITION)
        summary.sent[feed_of(item)] += 1
        summary.last = moment
        if progress is not None:
            progress(item, summary)
    producer.flush()
    summary.elapsed_s = time.monotonic() - started
    return summary


__all__ = ["ReplaySummary", "load", "replay"]


LIVE_TAIL = 500  # how many of the newest records of events.classified say how far live events have gone


def newest_event(settings: SalvoSettings) -> datetime | None:
    """The newest event time among the last `LIVE_TAIL` events on `events.classified` (clock ticks left out),
    or None when the topic is empty or absent: how far the rules' watermark may already be.

    A replay of older history onto the same topics lands behind that watermark (minus the allowed lateness)
    and counts as late, which the desk measured as a replay that "delivers nothing, with no explanation".
    """
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=None,
                             enable_auto_commit=False, client_id=f"{settings.app_id}-replay-check")
    try:
        tp = TopicPartition(settings.topic(topics.EVENTS), 0)
        if not consumer.partitions_for_topic(tp.topic):
            return None
        end = true_end_offsets(consumer, [tp])[tp]
        if end == 0:
            return None
        consumer.assign([tp])
        consumer.seek(tp, max(0, end - LIVE_TAIL))
        newest: datetime | None = None
        deadline = time.monotonic() + 10
        while consumer.position(tp) < end and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=500).values():
                for message in messages:
                    if message.value and not any(key == topics.TICK_HEADER for key, _ in message.headers or ()):
                        at = ClassifiedEvent.model_validate_json(message.value).occurred_at
                        newest = at if newest is None else max(newest, at)
        return newest
    finally:
        consumer.close()


def behind_live(items: Sequence[FeedItem], newest: datetime | None, lateness: timedelta) -> int:
    """How many items are older than the newest live event minus the allowed lateness: the rules may count
    them late (they do once the watermark is past them), so they may alert on nothing."""
    if newest is None:
        return 0
    return sum(event_time(item) < newest - lateness for item in items)
