"""Batches in offset order: how every agent of the worker reads its stream, so a rebalance loses nothing.

faust-streaming drops records around a rebalance: a record fetched before the consumer's generation changed is
skipped by the stream (auto-acked when acks are automatic), and its commit logic moves past a single missing
offset. Measured under kill -9 (tests/e2e/test_crash_exact.py), that lost raw items and alert deliveries, and
forwarded items out of order, so that a replayed history turned some of them late.

So each agent takes whatever its stream holds (`noack_take`), and `InOrder` admits each partition's records
strictly in offset order:

- the next expected offset is processed;
- an offset below it was processed already in this life (the consumer was sent back to its committed offset
  after a rebalance) and is acked without processing again;
- an offset above it means records were skipped: the partition is sought back to the expected offset and the
  rest of its batch is left unacked, to be read again in order.

Only processed and already-processed records are acked, after the handler returned, so Faust commits no
offset it was not done with. The rules stage seeds the expected offsets from its own state (the offsets its
last logged batch consumed), so on a restart it reads on from there whatever Faust had committed. A hole that
persists after `max_seeks` seeks to the same offset is taken as real (a compacted topic, or a transactional
producer's commit markers) and logged.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import faust
from faust.types import TP, EventT

log = logging.getLogger(__name__)

BatchHandler = Callable[[Sequence[EventT]], Awaitable[None]]


@dataclass
class Admitted:
    """A batch sorted out: what to process, what to ack without processing, where to seek back."""

    process: list[EventT] = field(default_factory=list)
    done: list[EventT] = field(default_factory=list)
    seek: dict[TP, int] = field(default_factory=dict)


@dataclass
class InOrder:
    """The next offset each partition must deliver, for one agent."""

    max_seeks: int = 3
    expected: dict[TP, int] = field(default_factory=dict)
    _seeks: dict[TP, tuple[int, int]] = field(default_factory=dict)

    def admit(self, events: Sequence[EventT]) -> Admitted:
        """Sort a batch out (see the module doc); records of one partition keep their order."""
        out = Admitted()
        for event in events:
            tp, offset = event.message.tp, event.message.offset
            if tp in out.seek:
                continue
            expected = self.expected.get(tp)
            if expected is not None and offset < expected:
                out.done.append(event)
            elif expected is None or offset == expected or self._real_hole(tp, expected, offset):
                out.process.append(event)
                self.expected[tp] = offset + 1
                self._seeks.pop(tp, None)
            else:
                out.seek[tp] = expected
                seeks = self._seeks.get(tp, (expected, 0))
                self._seeks[tp] = (expected, seeks[1] + 1 if seeks[0] == expected else 1)
        return out

    def _real_hole(self, tp: TP, expected: int, offset: int) -> bool:
        at, count = self._seeks.get(tp, (expected, 0))
        if at == expected and count >= self.max_seeks:
            log.warning("offsets %d..%d of %s are missing after %d re-reads: taken as a real gap (compaction or "
                        "transaction markers)", expected, offset - 1, tp, count)
            return True
        return False

    def resume(self, positions: Mapping[TP, int]) -> None:
        """Start these partitions at the given offsets (the rules' state after a recovery)."""
        self.expected.update(positions)

    def retain(self, assigned: set[TP]) -> None:
        """After a rebalance: partitions this worker kept go on where they were (records read again from the
        committed offset count as done); the others are forgotten, and resume where Faust delivers them."""
        for tp in set(self.expected) - assigned:
            self.expected.pop(tp, None)
            self._seeks.pop(tp, None)


def batch_agent(
    app: faust.App, handler: BatchHandler, *, stage: str, order: InOrder, batch_max: int, batch_wait_s: float,
    on_failure: Callable[[str], None], one_by_one: bool = False,
) -> Callable[[faust.StreamT], AsyncIterator[None]]:
    """An agent body: batches of whatever the stream holds (up to `batch_max`, at most `batch_wait_s` old),
    admitted by `order`, through `handler`, acked afterwards.

    `one_by_one` hands over one event at a time from the stream's own iteration instead, for a handler that
    writes Faust tables the usual way (a table finds its changelog partition through the current event, which
    only the stream's iteration sets). The handler deals with each event's failure itself. A failure of the
    batch as a whole means it could not be made durable, and the stream must not ack it, so `on_failure`
    stops the worker.
    """

    async def handle(stream: faust.StreamT, batch: Sequence[EventT]) -> None:
        admitted = order.admit(batch)
        for tp, offset in admitted.seek.items():
            log.info("%s: %s skipped records; reading again from offset %d", stage, tp, offset)
            await app.consumer.seek(tp, offset)
        if admitted.process:
            try:
                await handler(admitted.process)
            except Exception:
                log.critical("%s could not make a batch durable; stopping without a commit", stage, exc_info=True)
                on_failure(stage)
        for event in admitted.done + admitted.process:
            await stream.ack(event)

    async def consume(stream: faust.StreamT) -> AsyncIterator[None]:
        if one_by_one:
            manual = stream.noack()
            async for event in manual.events():
                await handle(manual, [event])
                yield None
        else:
            async for batch in stream.noack_take(batch_max, within=batch_wait_s):
                await handle(stream, batch)
                yield None

    return consume
