"""Consumer lag per partition, measured so that it is right on the embedded Tansu broker as on Apache Kafka.

Tansu answers ListOffsets(latest) with the *last batch's base offset + 1*, so after a multi-record batch the
end offset a client is told comes up short, and `end - committed` under-reports lag (or goes negative). The
probe therefore reads the last batch itself: it seeks to `reported_end - 1` (the last batch's base offset on
Tansu, the last record on Kafka), fetches, and takes one past the highest offset it sees. On Apache Kafka that
changes nothing; on Tansu it counts the records the reported end skipped.

Plain kafka-python, no Faust: the worker calls `ConsumerLag.refresh()` from a timer (in a thread, since
kafka-python blocks) and the gauge `salvo_consumer_lag{topic,partition,group}` follows.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry, Gauge

_FETCH_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class PartitionLag:
    """One partition's position: `end` is the true next offset, `committed` the group's next offset to read."""

    topic: str
    partition: int
    end: int
    committed: int

    @property
    def lag(self) -> int:
        """Records written but not yet committed by the group; never negative."""
        return max(self.end - self.committed, 0)


class LagMetrics:
    """The lag gauge, on an injected registry like every Salvo metrics class."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.consumer_lag = Gauge(
            "salvo_consumer_lag",
            "Records in a partition not yet committed by the consumer group (true end offset - committed).",
            ["topic", "partition", "group"],
            registry=registry,
        )

    def record(self, group: str, lags: Iterable[PartitionLag]) -> None:
        """Set one gauge per partition."""
        for item in lags:
            self.consumer_lag.labels(topic=item.topic, partition=str(item.partition), group=group).set(item.lag)


def true_end_offsets(consumer: KafkaConsumer, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
    """End offsets corrected by reading each non-empty partition's last batch (see module doc).

    The consumer must have no group and no assignment of its own; this call reassigns it.
    """
    ends: dict[TopicPartition, int] = dict(consumer.end_offsets(list(partitions)))
    pending = {tp for tp, end in ends.items() if end > 0}
    if not pending:
        return ends
    consumer.assign(sorted(pending))
    for tp in pending:
        consumer.seek(tp, ends[tp] - 1)
    deadline = time.monotonic() + _FETCH_TIMEOUT_S
    while pending and time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=200).items():
            ends[tp] = max(ends[tp], records[-1].offset + 1)
            # The last batch is complete once the consumer has reached the broker's high watermark.
            if consumer.position(tp) >= (consumer.highwater(tp) or 0):
                pending.discard(tp)
    consumer.assign([])
    return ends


class ConsumerLag:
    """Measures one consumer group's lag on a fixed set of topics; reuse one instance, call `refresh()`."""

    def __init__(
        self, bootstrap_servers: str, group: str, topics: Sequence[str], metrics: LagMetrics, *, client_id: str
    ) -> None:
        """:param topics: the topics the group reads; partitions without a commit count from the log start."""
        self.group = group
        self.topics = tuple(topics)
        self.metrics = metrics
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id=f"{client_id}-lag",
            group_id=None,
            enable_auto_commit=False,
            max_poll_records=100_000,
        )
        self._admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id=f"{client_id}-lag-admin")

    def partitions(self) -> list[TopicPartition]:
        """Every partition of the watched topics that exists now (new partitions appear on the next call)."""
        return [
            TopicPartition(topic, partition)
            for topic in self.topics
            for partition in sorted(self._consumer.partitions_for_topic(topic) or ())
        ]

    def measure(self) -> list[PartitionLag]:
        """The group's lag on every partition, from the true end offsets and the committed offsets."""
        partitions = self.partitions()
        if not partitions:
            return []
        ends = true_end_offsets(self._consumer, partitions)
        committed = self._admin.list_group_offsets({self.group: partitions}).get(self.group, {})
        positions = {tp: meta.offset for tp, meta in committed.items() if meta is not None and meta.offset >= 0}
        positions = {**self._beginnings([tp for tp in partitions if tp not in positions]), **positions}
        lags = []
        for tp in partitions:
            position = positions.get(tp)
            if position is not None and tp in ends:
                lags.append(PartitionLag(tp.topic, tp.partition, ends[tp], position))
        return lags

    def _beginnings(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """Where a partition with no committed offset starts; none while the broker does not know yet.

        During start-up or a leader change the broker may have no offset for a partition, and kafka-python's
        `beginning_offsets` then raises `KeyError` for the whole call (this stopped the worker once, and was
        still counted in `salvo_task_errors_total` under a 2 s lag interval): those partitions are measured at
        the next refresh.
        """
        if not partitions:
            return {}
        try:
            return self._consumer.beginning_offsets(partitions)
        except KeyError:
            return {}

    def refresh(self) -> list[PartitionLag]:
        """Measure and publish to the gauge; the worker's periodic call."""
        lags = self.measure()
        self.metrics.record(self.group, lags)
        return lags

    def close(self) -> None:
        """Close the broker connections."""
        self._consumer.close()
        self._admin.close()
