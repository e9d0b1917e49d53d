"""The topic catalogue: what takes history keeps it, what must be ordered has one partition."""

from __future__ import annotations

from kafka import KafkaConsumer

from streams import topics
from streams.settings import SalvoSettings

SPECS = {spec.name: spec for spec in topics.CATALOGUE}


def test_topics_that_receive_old_timestamps_never_expire_by_time() -> None:
    # Time-based retention counts from record timestamps: a replay of 2022 would be deleted on arrival.
    for name in (topics.NEWS_RAW, topics.STRIKES_RAW, topics.EVENTS, topics.EVENTS_LATE):
        assert SPECS[name].config.get("retention.ms") == "-1", name


def test_keyed_state_topics_are_compacted() -> None:
    for name in (topics.SUBSCRIPTIONS, topics.SILENCES):
        assert SPECS[name].config.get("cleanup.policy") == "compact", name


def test_only_the_raw_topics_scale_and_the_rest_have_one_partition(salvo_settings: SalvoSettings) -> None:
    consumer = KafkaConsumer(bootstrap_servers=salvo_settings.bootstrap_servers)
    try:
        for spec in topics.CATALOGUE:
            found = consumer.partitions_for_topic(salvo_settings.topic(spec.name)) or set()
            raw = (topics.NEWS_RAW, topics.STRIKES_RAW, topics.AIRRAID_RAW)
            expected = salvo_settings.partitions if spec.name in raw else 1
            assert len(found) == expected, spec.name
    finally:
        consumer.close()
