"""Salvo's faust transport on the real embedded broker: table recovery sees the true end of a changelog."""

from __future__ import annotations

import uuid

import pytest
from faust.types import TP
from kafka import KafkaConsumer, TopicPartition

from streams.app import build_app
from streams.broker import EmbeddedBroker
from streams.settings import SalvoSettings
from tests.streams.test_lag import produce

pytestmark = pytest.mark.broker


async def test_recovery_highwaters_count_every_record_of_a_multi_record_batch(
    broker: EmbeddedBroker, salvo_settings: SalvoSettings
) -> None:
    topic = f"changelog-{uuid.uuid4().hex[:8]}"
    produce(broker.bootstrap, topic, 0, 5, batched=True)
    plain = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    try:
        reported = plain.end_offsets([TopicPartition(topic, 0)])[TopicPartition(topic, 0)]
    finally:
        plain.close()
    assert reported < 5, "the broker no longer under-reports; the correction can go"

    app = build_app(salvo_settings)
    # What faust's recovery asks for each changelog partition (Recovery._build_highwaters → highwaters).
    highwaters = await app.consumer._thread._highwaters([TP(topic, 0)])
    assert highwaters == {TP(topic, 0): 5}
