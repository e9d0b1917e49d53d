"""Tests of alerts/channels/kafka.py against the real broker fixture."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from alerts.channels.base import ChannelError, Envelope
from alerts.channels.kafka import KafkaChannel, KafkaConfig
from schemas.alert import Alert
from schemas.delivery import FailureReason
from schemas.subscription import Subscription
from streams.broker import EmbeddedBroker
from tests.alerts.conftest import T0, make_alert

pytestmark = pytest.mark.broker


def to_topic(topic: str) -> Subscription:
    return Subscription.model_validate({"name": "analytics", "target": {"type": "kafka", "topic": topic}})


async def test_alerts_arrive_as_alert_json_with_the_idempotency_key(broker: EmbeddedBroker) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        channel = KafkaChannel(KafkaConfig(topic_prefix="tk1."), producer=producer)
        await channel.send(Envelope(make_alert(), to_topic("alerts.analytics"), "k:v1", T0))
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        "tk1.alerts.analytics", bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=10_000, max_records=1)
    finally:
        await consumer.stop()
    (record,) = [r for records in batch.values() for r in records]
    assert Alert.model_validate_json(record.value) == make_alert()
    assert record.key == make_alert().id.encode()
    assert dict(record.headers)["idempotency-key"] == b"k:v1"


async def test_a_broker_that_does_not_answer_in_time_is_a_retryable_timeout(broker: EmbeddedBroker) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        channel = KafkaChannel(KafkaConfig(timeout_s=0.000_001), producer=producer)
        with pytest.raises(ChannelError) as caught:
            await channel.send(Envelope(make_alert(), to_topic("tk2.slow"), "k:v1", T0))
    finally:
        await producer.stop()
    assert caught.value.retryable and caught.value.reason is FailureReason.TIMEOUT
