"""Faust's aiokafka transport with two corrections, and a quieter producer log.

- The fetch wait: faust's aiokafka driver builds the worker's consumer with `fetch_max_wait_ms=1500` and no
  setting to change it. On a broker that holds a fetch for the whole wait when little data is there, every
  hop of the pipeline (raw → events → alerts) can add up to 1.5 s to an alert. Salvo's consumer takes the
  wait from `SALVO_FETCH_MAX_WAIT_MS`.
- One wait per fetch, not per record: faust's fetch loop awaits each record's delivery to its streams in
  `wait_first` beside the flow-suspension event, which makes four futures and an `asyncio.wait` per record
  and hands the records over one event-loop turn at a time, so a stage's queue filled a dozen records per
  batch while another stage ran. Salvo's loop delivers a whole fetch inside one such wait, with the same
  bookkeeping per record (read offsets, gaps, flow and generation checks in faust's `getmany`).
- True end offsets for table recovery: the embedded Tansu broker answers ListOffsets(latest) with the last
  batch's base offset + 1, so faust stopped recovering a changelog early after a multi-record batch and a
  table came back short. Recovery now asks `streams.lag.true_end_offsets`, which reads the last batch; on
  Apache Kafka that changes nothing. This is what lets the embedded broker run with default batching.

The transport is registered under the URL scheme `salvo://` through faust's own extension point (the
`faust.transports` entry point in pyproject.toml), so nothing else in faust changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

import aiokafka
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as driver
from faust.types import TP, Message
from mode import ServiceT

from streams.worker.rewind import describe, true_ends, went_back

DEFAULT_FETCH_MAX_WAIT_MS = 10
_YIELD_EVERY = 100  # records delivered between event-loop turns, as in faust

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

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = {tp: offset for tp, offset in (await super().seek_to_committed()).items() if offset is not None}
        lost = went_back(committed, await asyncio.to_thread(true_ends, self._servers(), committed))
        if lost:
            log.warning("committed offsets past the end of their partitions (the broker lost records): %s; "
                        "reading them from the beginning", describe(lost))
            await self.seek_to_beginning(*lost)
        return {tp: offset for tp, offset in committed.items() if tp not in lost}

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

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        """faust's fetch loop (`Consumer._drain_messages`), one `wait_first` per fetch (see the module doc).

        The fetch itself stays outside the wait, as in faust: a rebalance first waits until no fetch is in
        flight (`wait_for_stopped_flow`) and then seeks, and a fetch cancelled half-way in the consumer
        thread would move the position past records no one receives (measured: a fresh worker joining into
        traffic lost the first ~300 records of a partition). A rebalance (`suspend_flow`), a stop or a crash
        still interrupts the delivery at once: the rest of the fetch is left unread, as faust leaves it, and
        read again from the committed offsets.
        """
        try:
            while not (self._stopped.is_set() or fetcher._stopped.is_set()):  # type: ignore[attr-defined]  # noqa: SLF001
                self.diag.set_flag(CONSUMER_FETCHING)
                generation = self.app.consumer_generation_id
                fetched = [record async for record in self.getmany(timeout=1.0)]
                await asyncio.sleep(0)  # an empty fetch may return at once: let the loop turn
                if fetched and not self.should_stop:
                    await self.wait_first(self._deliver(fetched, generation), self.suspend_flow.wait())
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
            self.log.info("Broker stopped consumer, shutting down...")
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _deliver(self, fetched: list[tuple[TP, Message]], generation: int) -> None:
        """One fetch's records to their streams, with faust's per-record bookkeeping."""
        read = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        commit_every = self._commit_every
        for number, (tp, message) in enumerate(fetched, 1):
            if self.app.consumer_generation_id != generation:
                return  # a rebalance began: faust's getmany stops here too
            offset, last = message.offset, read[tp]
            if last is not None and offset < last:
                continue  # read already: faust drops it too
            if last and offset - last > 1 and acks_enabled_for(message.topic):
                await self._add_gap(tp, last + 1, offset)  # offsets never seen (compacted, aborted)
            if commit_every is not None and self._n_acked >= commit_every:
                self._n_acked = 0
                await self.commit()
            await self.callback(message)
            read[tp] = offset
            if number % _YIELD_EVERY == 0:  # a large fetch must not hold the loop (health checks, agents)
                await asyncio.sleep(0)


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
