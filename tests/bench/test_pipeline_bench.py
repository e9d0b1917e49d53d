"""Worker throughput on the embedded broker, as a ratio to a bare aiokafka consumer read in the same run.

Why a ratio: Faust's per-event overhead, not Kafka, is the ceiling (about 12k events/s for a plain agent on two
cores against 500k/s for aiokafka alone), so the number that says whether Salvo's hot path stays lean is how
the worker's ingest → classify → events rate compares with reading the same records bare. Absolute rates are
printed too. Run with `make bench`.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer

from schemas import StrikeReport
from streams import topics
from streams.producer import FeedProducer
from streams.reader import TopicReader
from streams.settings import SalvoSettings

pytestmark = pytest.mark.bench
COUNT = 3_000


async def _bare_read(settings: SalvoSettings, count: int) -> float:
    consumer = AIOKafkaConsumer(
        settings.topic(topics.STRIKES_RAW), bootstrap_servers=settings.bootstrap_servers, group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        started, seen = time.perf_counter(), 0
        while seen < count:
            for messages in (await consumer.getmany(timeout_ms=1_000)).values():
                seen += len(messages)
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()


@pytest.mark.parametrize("batch", [1, None], ids=["one-record-batches", "default-batches"])
def test_worker_ingest_rate_against_a_bare_consumer(
    salvo_settings: SalvoSettings, start_worker, batch: int | None
) -> None:
    """One-record batches are the embedded broker's workaround (every table write is a changelog record);
    default batches show the worker's own cost, as on Apache Kafka."""
    salvo_settings = salvo_settings.model_copy(update={"producer_max_batch_size": batch})
    with FeedProducer(salvo_settings) as producer:
        for i in range(COUNT):
            producer.send(StrikeReport(
                id=f"bench-{i}", time_start="2025-08-01T18:00:00+03:00",
                time_end=f"2025-08-02T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}+03:00",
                model="Shahed-136/131", launched=i % 90, source="bench",
            ))
    bare = asyncio.run(_bare_read(salvo_settings, COUNT))

    start_worker(salvo_settings)
    deadline, seen, started = time.perf_counter() + 300, 0, 0.0
    with TopicReader(salvo_settings, [topics.EVENTS]) as reader:
        while seen < COUNT and time.perf_counter() < deadline:
            batch_seen = len(reader.poll(0.5))
            if batch_seen and not started:
                started = time.perf_counter()  # from the first event: the group join is not throughput
            seen += batch_seen
    worker = seen / (time.perf_counter() - started)
    print(f"\n[{batch=}] bare aiokafka read: {bare:,.0f} msg/s; worker strike → event: {worker:,.0f} events/s "
          f"(ratio {worker / bare:.4f})")
    assert seen == COUNT
    assert worker / bare > 0.001
