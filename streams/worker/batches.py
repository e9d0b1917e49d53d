"""Batches in offset order: how every agent of the worker reads its stream, so a rebalance loses nothing.

faust-streaming drops records around a rebalance: a record fetched before the consumer's generation changed is
skipped by the stream (auto-acked when acks are automatic), and its commit logic moves past a single missing
offset. Measured under kill -9 (tests/e2e/test_crash_exact.py), that lost raw items and alert deliveries, and
forwarded items out of order, so that a replayed history turned some of them late.

So each agent takes whatever its channel's queue holds (`channel_batches`), and `InOrder` admits each
partition's records strictly in offset order:

- the next expected offset is processed;
- an offset below it was processed already in this life (the consumer was sent back to its committed offset
  after a rebalance) and is acked without processing again;
- an offset above it means records were skipped: the partition is sought back to the expected offset, and
  its records are left unacked until the expected one comes, to be read again in order. Records fetched
  before the seek still arrive after it, and faust's fetcher then drops every re-read record below the last
  offset it delivered, so each such arrival seeks again (at most every `reseek_s`, 2 s: every seek restarts
  the fetch, and in-band ticks arrive every second, so seeking on each arrival could keep a slow re-read
  from ever arriving); a timer seeks again too (`stuck`) when nothing arrives. Once the stale ones are
  through, the re-read comes.

Only processed and already-processed records are acked, after the handler returned, so Faust commits no
offset it was not done with. The rules stage seeds the expected offsets from its own state (the offsets its
last logged batch consumed), so on a restart it reads on from there whatever Faust had committed. A hole still
there `accept_after_s` after the first seek is taken as real (a compacted topic, or a transactional
producer's commit markers) and logged. Salvo's inputs have neither, so the wait is long (30 s): at 5 s a
kill -9 run on a loaded machine (a clean-clone CI run) took a re-read that was merely slow for a real gap
and skipped 51 raw items, losing 33 alert versions. Times are the monotonic clock: this is an adapter, not the core.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import faust
from faust.types import TP, EventT

log = logging.getLogger(__name__)

BatchHandler = Callable[[Sequence[EventT]], Awaitable[None]]
Seek = Callable[[TP, int], Awaitable[None]]  # read a partition again from an offset (`streams.worker.reread`)
RESEEK_S = 2.0  # the least time between two seeks back to one hole (see the module doc)
STALL_S = 5.0  # how long records may wait unread past a partition's expected offset (`InOrder.stalled`)


@dataclass
class Admitted:
    """A batch sorted out: what to process, what to ack without processing, where to seek back."""

    process: list[EventT] = field(default_factory=list)
    done: list[EventT] = field(default_factory=list)
    seek: dict[TP, int] = field(default_factory=dict)


@dataclass
class InOrder:
    """The next offset each partition must deliver, for one agent."""

    accept_after_s: float = 30.0
    reseek_s: float = RESEEK_S
    stall_s: float = STALL_S
    clock: Callable[[], float] = time.monotonic
    expected: dict[TP, int] = field(default_factory=dict)
    _holes: dict[TP, tuple[int, float, float]] = field(default_factory=dict)  # offset, first seek, last seek
    _heard: dict[TP, float] = field(default_factory=dict)  # when each partition last delivered or was sought
    _busy: bool = False  # a batch admitted and not yet settled: its agent is not reading, nothing stalls

    def admit(self, events: Sequence[EventT]) -> Admitted:
        """Sort a batch out (see the module doc); records of one partition keep their order."""
        out = Admitted()
        now = self.clock()
        self._busy = True
        for event in events:
            tp, offset = event.message.tp, event.message.offset
            self._heard[tp] = now
            expected = self.expected.get(tp)
            if expected is not None and offset < expected:
                out.done.append(event)
            elif expected is None or offset == expected or self._real_hole(tp, expected, offset):
                out.process.append(event)
                self.expected[tp] = offset + 1
                self._holes.pop(tp, None)
            else:
                self._hole(out, tp, expected)
        return out

    def _hole(self, out: Admitted, tp: TP, expected: int) -> None:
        now = self.clock()
        at, first, last = self._holes.get(tp, (expected, now, float("-inf")))
        if at != expected:
            first, last = now, float("-inf")
        if now - last >= self.reseek_s:
            out.seek[tp] = expected
            last = now
        self._holes[tp] = (expected, first, last)

    def _real_hole(self, tp: TP, expected: int, offset: int) -> bool:
        at, first, _ = self._holes.get(tp, (expected, self.clock(), 0.0))
        if at == expected and self.clock() - first >= self.accept_after_s:
            log.warning("offsets %d..%d of %s did not come back %.0f s after a re-read: taken as a real gap "
                        "(compaction or transaction markers)", expected, offset - 1, tp, self.accept_after_s)
            return True
        return False

    def stuck(self) -> dict[TP, int]:
        """Open holes whose last seek is at least `reseek_s` old: where to seek again, now.

        A seek can be undone: records fetched before it and delivered after it move faust's read offset past
        the hole again, and faust then drops the re-read records themselves, which never reach `admit`. With
        no record left above the hole to arrive (a replay that ended), nothing would seek again. Measured: a
        worker restarted after kill -9 that never consumed again, 15 alert versions lost (a CI run).
        """
        now = self.clock()
        due: dict[TP, int] = {}
        for tp, (at, first, last) in self._holes.items():
            if now - last >= self.reseek_s:
                due[tp] = at
                self._holes[tp] = (at, first, now)
        return due

    def settled(self, events: Sequence[EventT]) -> None:
        """The batch `admit` sorted is handled (or failed): its agent reads again, so the stall clocks of its
        partitions start now, not when it was admitted (a slow batch is not a stall)."""
        self._busy = False
        now = self.clock()
        for event in events:
            self._heard[event.message.tp] = now

    def stalled(self, ahead: Mapping[TP, int]) -> dict[TP, int]:
        """Partitions with records waiting past the expected offset and nothing delivered for `stall_s`: where
        to seek again, now (`streams.worker.reread`).

        `ahead` is how far the consumer knows each partition goes: the furthest of its fetch position and the
        high watermark. A partition past its expectation there, with no open hole, that delivered nothing for
        `stall_s`, had records fetched and dropped before they reached the agent, or is not being fetched:
        neither mends itself until the next rebalance. Its clock starts at the first look, again at each
        seek, so a partition is sought at most once per `stall_s`, and again when a batch settles; while one
        is being handled nothing is stalled.
        """
        now = self.clock()
        due: dict[TP, int] = {}
        if self._busy:
            return due
        for tp, end in ahead.items():
            expected = self.expected.get(tp)
            if expected is None or end <= expected or tp in self._holes:
                continue
            if now - self._heard.setdefault(tp, now) >= self.stall_s:
                due[tp] = expected
                self._heard[tp] = now
        return due

    def unwatched(self) -> None:
        """Nothing can arrive for a while (a rebalance, a recovery, a held broker check): every partition's
        stall clock starts again, so that the wait is not taken for a stall once it is over."""
        self._heard = dict.fromkeys(self._heard, self.clock())

    def left_out(self, tp: TP, offset: int) -> None:
        """A record of a partition this worker did not hold when it came (a rebalance in flight) went
        unprocessed and unacked. If the partition comes back to this worker, delivery must start there: a
        partition with no expectation yet would start at its next record, past this one, and the re-read
        from the committed offset would then count this one as done."""
        self.expected.setdefault(tp, offset)

    def resume(self, positions: Mapping[TP, int]) -> None:
        """Start these partitions at the given offsets (the rules' state after a recovery)."""
        self.expected.update(positions)

    def retain(self, assigned: set[TP]) -> None:
        """After a rebalance: partitions this worker kept go on where they were (records read again from the
        committed offset count as done); the others are forgotten, and resume where Faust delivers them."""
        for tp in set(self.expected) - assigned:
            self.expected.pop(tp, None)
            self._holes.pop(tp, None)
            self._heard.pop(tp, None)


def positions(handled: Mapping[str, int]) -> dict[TP, int]:
    """The next offset to read per partition, from last-handled offsets kept as {"topic/partition": offset}."""
    out = {}
    for where, offset in handled.items():
        topic, _, partition = where.rpartition("/")
        out[TP(topic, int(partition))] = offset + 1
    return out


async def channel_batches(
    app: faust.App, stream: faust.StreamT, order: InOrder, *, batch_max: int, within_s: float
) -> AsyncIterator[list[EventT]]:
    """Batches of the events the conductor has queued for `stream`, taken from its channel's queue directly.

    Iterating a Faust stream costs an event-loop turn, two sensor calls and a context-variable switch per
    event; a batch needs none of it. The stage benchmark measured 1.6 ms of worker CPU per strike event
    through `noack_take` and 1.3 ms this way (three runs each). What the stream
    would still do is kept: subscribing the topic (iterating the channel adds it to the conductor), tracking
    each message as unacked, so that a rebalance or shutdown waits for it, and leaving out the records of
    partitions this worker no longer holds (after a rebalance another worker reads them; `order` is told,
    so that they are read again if the partition comes back here). Records of an old
    consumer generation on partitions still held are kept, unlike in the stream: `InOrder` sorts them out.

    A batch is what the queue holds once the first event arrived and `within_s` passed, at most `batch_max`.
    """
    channel = aiter(stream.channel)  # registers the iterator channel with the conductor, as the stream would
    queue = channel.queue
    consumer = app.consumer
    while True:
        try:
            batch = [await queue.get()]
        except StopAsyncIteration:  # how Faust ends a stream's iteration when the worker stops
            return
        if queue.qsize() < batch_max - 1:
            await asyncio.sleep(within_s)
        while len(batch) < batch_max and not queue.empty():
            batch.append(queue.get_nowait())
        held = consumer.assignment()
        kept = []
        for event in batch:
            if event.message.tp in held:
                consumer.track_message(event.message)
                kept.append(event)
            else:
                order.left_out(event.message.tp, event.message.offset)
        if kept:
            yield kept


def batch_agent(
    app: faust.App, handler: BatchHandler, *, stage: str, order: InOrder, batch_max: int, batch_wait_s: float,
    on_failure: Callable[[str], None], hold: Callable[[], Awaitable[None]], seek: Seek,
) -> Callable[[faust.StreamT], AsyncIterator[None]]:
    """An agent body: batches of whatever the stream's queue holds (up to `batch_max`, at most `batch_wait_s`
    old), admitted by `order`, through `handler`, acked afterwards.

    A hole is read again through `seek`. Each batch first awaits `hold`, which keeps it unprocessed and
    unacked while the worker checks whether the broker lost records (`streams.worker.rewind`): admitted
    against lost positions, it would be acked without being processed.

    The handler deals with each event's failure itself. A failure of the
    batch as a whole means it could not be made durable, and the stream must not ack it, so `on_failure`
    stops the worker.
    """

    async def handle(batch: Sequence[EventT]) -> Sequence[EventT]:
        """Process what `order` admits; the events to ack afterwards (processed, or processed before)."""
        await hold()
        admitted = order.admit(batch)
        try:
            for tp, offset in admitted.seek.items():
                log.info("%s: %s skipped records; reading again from offset %d", stage, tp, offset)
                await seek(tp, offset)
            if admitted.process:
                try:
                    await handler(admitted.process)
                except Exception:
                    log.critical("%s could not make a batch durable; stopping without a commit", stage,
                                 exc_info=True)
                    on_failure(stage)
        finally:
            order.settled(batch)
        return admitted.done + admitted.process

    async def consume(stream: faust.StreamT) -> AsyncIterator[None]:
        async for batch in channel_batches(app, stream, order, batch_max=batch_max, within_s=batch_wait_s):
            for done in await handle(batch):
                if done.ack():  # the last of its channels: what iterating the stream reports to the sensors
                    app.sensors.on_message_out(done.message.tp, done.message.offset, done.message)
            yield None

    return consume
