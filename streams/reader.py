"""Reading Salvo's topics from the beginning without a consumer group: for the demo, export and tests.

No group means no offsets committed and no rebalance wait: the reader sees everything on the topic, which
is what a tail, an export or an assertion wants.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from kafka import KafkaConsumer, TopicPartition

from streams.settings import SalvoSettings
from streams.topics import TICK_HEADER


@dataclass(frozen=True)
class Record:
    """One record, with its topic name as Salvo knows it (prefix removed)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


class TopicReader:
    """Reads every partition of the named topics from offset 0, in poll-sized batches.

    In-band clock records (`topics.TICK_HEADER`) are not data and are left out.
    """

    def __init__(self, settings: SalvoSettings, names: list[str]) -> None:
        self._prefix = settings.topic_prefix
        self._consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"{settings.app_id}-reader",
        )
        partitions = []
        for name in names:
            full = settings.topic(name)
            found = self._consumer.partitions_for_topic(full) or {0}
            partitions += [TopicPartition(full, p) for p in sorted(found)]
        self._consumer.assign(partitions)
        self._consumer.seek_to_beginning(*partitions)

    def poll(self, timeout_s: float = 1.0) -> list[Record]:
        """The records that arrived since the last poll (possibly none)."""
        batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=5_000)
        records = [
            Record(
                topic=message.topic.removeprefix(self._prefix),
                partition=message.partition,
                offset=message.offset,
                timestamp_ms=message.timestamp,
                key=message.key,
                value=message.value,
                headers=tuple(message.headers or ()),
            )
            for messages in batches.values()
            for message in messages
            if not any(key == TICK_HEADER for key, _ in message.headers or ())
        ]
        return sorted(records, key=lambda record: (record.timestamp_ms, record.topic, record.offset))

    def close(self) -> None:
        """Close the connection."""
        self._consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
