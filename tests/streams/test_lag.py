"""Consumer lag on the real embedded broker, including after multi-record batches where Tansu's end offsets lie."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry

from streams.broker import EmbeddedBroker
from streams.lag import ConsumerLag, LagMetrics

pytestmark = pytest.mark.broker


@pytest.fixture
def topic(broker: EmbeddedBroker) -> str:
    """A fresh two-partition topic."""
    name = f"lag-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.create_topics([NewTopic(name, 2, 1)])
    finally:
        admin.close()
    return name


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def probe(broker: EmbeddedBroker, topic: str, registry: CollectorRegistry) -> Iterator[ConsumerLag]:
    lag = ConsumerLag(broker.bootstrap, f"group-{topic}", [topic], LagMetrics(registry), client_id="test")
    yield lag
    lag.close()


def produce(bootstrap: str, topic: str, partition: int, count: int, *, batched: bool) -> None:
    """Write `count` records, as one batch (`batched`) or one batch per record."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=500 if batched else 0)
    try:
        for i in range(count):
            producer.send(topic, f"r{i}".encode(), partition=partition)
            if not batched:
                producer.flush()
        producer.flush()
    finally:
        producer.close()


def commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit offsets for a group the way a worker would."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})
    finally:
        consumer.close()


def gauge(registry: CollectorRegistry, topic: str, partition: int, group: str) -> float | None:
    return registry.get_sample_value(
        "salvo_consumer_lag", {"topic": topic, "partition": str(partition), "group": group}
    )


def test_lag_counts_every_record_of_a_multi_record_batch(
    broker: EmbeddedBroker, topic: str, probe: ConsumerLag, registry: CollectorRegistry
) -> None:
    produce(broker.bootstrap, topic, 0, 3, batched=False)
    produce(broker.bootstrap, topic, 0, 5, batched=True)
    produce(broker.bootstrap, topic, 1, 4, batched=True)
    commit(broker.bootstrap, probe.group, {TopicPartition(topic, 0): 2})

    lags = {item.partition: item for item in probe.refresh()}

    assert (lags[0].end, lags[0].committed, lags[0].lag) == (8, 2, 6)
    # Partition 1 has no commit: the whole log counts as lag.
    assert (lags[1].end, lags[1].committed, lags[1].lag) == (4, 0, 4)
    assert gauge(registry, topic, 0, probe.group) == 6
    assert gauge(registry, topic, 1, probe.group) == 4


def test_lag_is_zero_when_caught_up_and_on_empty_partitions(
    broker: EmbeddedBroker, topic: str, probe: ConsumerLag, registry: CollectorRegistry
) -> None:
    produce(broker.bootstrap, topic, 0, 7, batched=True)
    commit(broker.bootstrap, probe.group, {TopicPartition(topic, 0): 7})

    lags = {item.partition: item for item in probe.refresh()}

    assert (lags[0].end, lags[0].lag) == (7, 0)
    assert (lags[1].end, lags[1].lag) == (0, 0)
    assert gauge(registry, topic, 1, probe.group) == 0


def test_lag_follows_new_records_between_refreshes(
    broker: EmbeddedBroker, topic: str, probe: ConsumerLag
) -> None:
    produce(broker.bootstrap, topic, 1, 2, batched=True)
    assert {item.partition: item.lag for item in probe.refresh()} == {0: 0, 1: 2}
    produce(broker.bootstrap, topic, 1, 6, batched=True)
    assert {item.partition: item.lag for item in probe.refresh()} == {0: 0, 1: 8}
