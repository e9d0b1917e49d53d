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
- The fetch loop hands a record to the streams without a race per record where nothing can block it
  (`_Consumer._drain_messages`): a quarter of the worker's main-thread time went to that race.

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
from faust.types import TP
from mode import ServiceT

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

    def _takes_at_once(self, tp: TP) -> bool:
        """Whether the conductor takes a record of `tp` now, without waiting on anything: the flow runs,
        faust's producer buffer is under its limit, the callback lock is free and no queue that the record
        goes to is full. These are the conductor's only waits (`faust.transport.conductor`)."""
        app = self.app
        conductor = app.topics
        buffer = app.producer.buffer
        return (
            app.flow_control.is_active()
            and not self.suspend_flow.is_set()
            and not buffer.size > buffer.max_messages
            and not conductor._tp_to_callback_lock.locked()  # noqa: SLF001
            and not any(channel.queue.full() for channel in conductor._tp_index.get(tp, ()))  # noqa: SLF001
        )

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        """faust's fetch loop, without a race per record where the record cannot wait.

        faust hands every record to the conductor inside `wait_first(callback(record), suspend_flow.wait())`,
        so that a rebalance never waits behind a record blocked on a full stream buffer: four tasks, an
        `asyncio.wait` and three cancellations per record, which cProfile put at a quarter of the worker's
        main-thread time on the stage benchmark. Where the conductor cannot wait (`_takes_at_once`), the
        record is handed over directly and the loop yields once to the event loop, so that the agents run
        between records as they did; anywhere else faust's race runs as before. The rest is faust's loop
        (faust-streaming 0.15.3, `Consumer._drain_messages`): the read offset, gaps, commits every
        `broker_commit_every` records. Like faust's, it can still drop a record whose race a flow stop
        wins: `streams.worker.reread` reads such records again. Before that re-read existed, seed 1 of
        `make chaos` stalled a restarted worker in 2 of 9 runs with this loop (0 of 6 with it).
        """
        callback = self.callback
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        try:
            while not (self.should_stop or fetcher.should_stop):
                self.diag.set_flag(CONSUMER_FETCHING)
                batch = self.getmany(timeout=1.0)
                await self.sleep(0)  # getmany may return at once, and this loop must let others run
                if not self.should_stop:
                    async for tp, message in batch:
                        offset, at = message.offset, read_offset[tp]
                        if at is not None and offset < at:
                            continue  # read before, and sought back over (faust drops these too)
                        if at and offset - at > 1 and acks_enabled_for(message.topic):
                            await self._add_gap(tp, at + 1, offset)
                        if self._commit_every is not None and self._n_acked >= self._commit_every:
                            self._n_acked = 0
                            await self.commit()
                        if self._takes_at_once(tp):
                            await callback(message)
                            await asyncio.sleep(0)
                        else:
                            await self.wait_first(callback(message), self.suspend_flow.wait())
                        read_offset[tp] = offset
                self.diag.unset_flag(CONSUMER_FETCHING)
        except (*self.consumer_stopped_errors, asyncio.CancelledError):
            if self.transport.app.should_stop:
                log.info("consumer stopped while fetching; shutting down")
                return
            raise
        except Exception:
            log.exception("fetching records failed")
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)


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
