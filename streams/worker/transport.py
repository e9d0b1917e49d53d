"""Faust's aiokafka transport with its corrections, and a quieter producer log.

- The fetch wait: faust's aiokafka driver builds the worker's consumer with `fetch_max_wait_ms=1500` and no
  setting to change it. On a broker that holds a fetch for the whole wait when little data is there, every
  hop of the pipeline (raw → events → alerts) can add up to 1.5 s to an alert. Salvo's consumer takes the
  wait from `SALVO_FETCH_MAX_WAIT_MS`.
- True end offsets for table recovery: the embedded Tansu broker answers ListOffsets(latest) with the last
  batch's base offset + 1, so faust stopped recovering a changelog early after a multi-record batch and a
  table came back short. Recovery now asks `streams.lag.true_end_offsets`, which reads the last batch; on
  Apache Kafka that changes nothing. This is what lets the embedded broker run with default batching.
- A broker that lost records (`streams.worker.rewind`): a committed offset past its partition's true end is
  read from the beginning, and no offset is committed while the worker checks a returning broker.

The transport is registered under the URL scheme `salvo://` through faust's own extension point (the
`faust.transports` entry point in pyproject.toml), so nothing else in faust changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

import aiokafka
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

from streams.worker.rewind import describe, true_ends, went_back

DEFAULT_FETCH_MAX_WAIT_MS = 10

log = logging.getLogger(__name__)


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: driver.Transport) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        settings = getattr(getattr(self.app, "salvo", None), "settings", None)
        wait = getattr(settings, "fetch_max_wait_ms", DEFAULT_FETCH_MAX_WAIT_MS)
        # aiokafka takes the wait only as a constructor argument, which faust hard-codes; the fetcher reads
        # this attribute when the consumer starts, which is after this method returns.
        consumer._fetch_max_wait_ms = wait  # noqa: SLF001
        return consumer

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        if self.consumer.in_transaction:  # last stable offsets come from the broker; nothing to correct
            return await super()._highwaters(partitions)
        return await asyncio.to_thread(true_ends, self._servers(), partitions)

    async def seek_to_committed(self) -> Mapping[TP, int | None]:
        """faust's answer, with a partition that has no valid commit read from its beginning.

        faust calls this after every rebalance and recovery to undo whatever was fetched before: records its
        fetcher took from aiokafka and then dropped (a generation change or a flow stop mid-batch) are read
        again from the committed offset. aiokafka seeks only where an offset is committed, though; elsewhere
        the fetch position stays past the dropped records. Measured under kill -9: a worker killed before its
        first commit, the next one started strikes.raw/0 at offset 30, and raw items 7..29 were never
        ingested (10 alert versions lost, 8 altered; seed 3 of `make chaos`). So an input partition with
        nothing committed is sought to its beginning, as `auto_offset_reset="earliest"` means, and so is one
        whose committed offset is past its end (the broker lost records, `streams.worker.rewind`).

        Every partition stays in the answer, None where nothing (or nothing valid) is committed: faust then
        forgets its read offset there. Left out, a stale read offset from before the rebalance made faust drop
        the records read again below it.
        """
        found = await super().seek_to_committed()
        committed = {tp: offset for tp, offset in found.items() if offset is not None}
        lost = went_back(committed, await asyncio.to_thread(true_ends, self._servers(), committed))
        if lost:
            log.warning("committed offsets past the end of their partitions (the broker lost records): %s; "
                        "reading them from the beginning", describe(lost))
        changelogs = self.app.tables.changelog_topics  # recovery positions those itself, from its own offsets
        # aiokafka seeks only to a committed offset above 0, so 0 is as good as nothing here
        uncommitted = [tp for tp, offset in found.items() if not offset and tp.topic not in changelogs]
        if lost or uncommitted:
            await self.seek_to_beginning(*lost, *uncommitted)
        return {**found, **dict.fromkeys(lost)}

    async def commit(self, offsets: Mapping[TP, int]) -> bool:
        rewind = getattr(getattr(self.app, "salvo", None), "rewind", None)
        if rewind is not None and not rewind.clear.is_set():
            # Dropped, not delayed: a later commit covers them, or a restart reads those records again, which
            # InOrder, the rule state and the dedup absorb (at-least-once, as after a crash).
            return False
        return await super().commit(offsets)

    def _servers(self) -> list[str]:
        return driver.server_list(self.transport.url, self.transport.default_port)


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    """faust's aiokafka transport with Salvo's consumer (see the module doc)."""

    Consumer = _Consumer


class RateLimitedLog(logging.Filter):
    """Lets one record with a given message prefix through per `interval_s`, and says how many it held back.

    faust logs "producer buffer full" for every record while its buffer is over the limit: hundreds of lines
    a second in a replay, which cost the worker measurable time and drown every other line.
    """

    def __init__(self, prefix: str, *, interval_s: float = 60.0) -> None:
        super().__init__()
        self.prefix = prefix
        self.interval_s = interval_s
        self._last = float("-inf")
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.prefix):
            return True
        now = time.monotonic()
        if now - self._last < self.interval_s:
            self._held += 1
            return False
        if self._held:
            record.msg = f"{record.msg} ({self._held} more since the last such line)"
        self._last, self._held = now, 0
        return True


def quiet_producer_buffer_warnings() -> None:
    """Rate-limit faust's per-record "producer buffer full" warning (once per process)."""
    logger = logging.getLogger("faust.transport.producer")
    if not any(isinstance(f, RateLimitedLog) for f in logger.filters):
        logger.addFilter(RateLimitedLog("producer buffer full"))
