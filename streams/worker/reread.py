"""Reading a partition again from the offset its agent needs next, when the consumer went past it.

faust-streaming drops records it has fetched, and counts on the next rebalance's seek to the committed
offsets to read them again:

- `Consumer.getmany` drops the rest of a fetched batch when the flow stops or the consumer generation changes
  mid-batch, and every record of a partition outside its active set;
- `Consumer._drain_messages` cancels a record's hand-over to the streams when the flow is suspended, and still
  moves its read offset past it;
- and it drops every record below its read offset, so records fetched before a seek and delivered after it
  undo the seek.

aiokafka's position has moved past them all the same. Where a record above them arrives, the agent's
`InOrder` sees the hole and seeks back. Where none does (the feed went quiet, a replay ended), nothing reads
them until a rebalance that may never come. Measured: in a CI run of `tests/e2e/test_crash_exact.py`, the worker
started after the third kill -9 was ready and assigned, but the last 6 raw records and 1 classified event were
never handled, and one alert version was lost.

So one timer (every `RESEEK_S`) seeks each agent's partitions back where they need it:

- an open hole whose last seek is old (`InOrder.stuck`);
- a stall: the consumer's position or the high watermark is past the expected offset, and the partition has
  delivered nothing for `STALL_S` (`InOrder.stalled`). That one is logged as a warning with faust's view of
  the partition, and counted in `salvo_partition_rereads_total{why="stall"}`: it means records were dropped.

Seeks run on the consumer's own thread (`seek_wait`): faust's `Consumer.seek` calls aiokafka's from the
calling thread, while aiokafka's fetcher works on the consumer thread's loop and may, mid-batch, move the
position past the seek again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

import faust
from faust.types import TP
from prometheus_client import Counter

from streams.worker.batches import InOrder

log = logging.getLogger(__name__)

POSITION_TIMEOUT_S = 2.0

Why = Literal["hole", "stall"]


class Rereader:
    """Seeks for every agent of one worker: on a hole an agent saw, and from the timer (`check`)."""

    def __init__(self, app: faust.App, rereads: Counter, *, flowing: Callable[[], bool]) -> None:
        """:param flowing: whether records can reach the agents now (no rebalance, recovery or broker check):
        while they cannot, nothing is taken for a stall."""
        self.app = app
        self.rereads = rereads
        self.flowing = flowing
        self._orders: list[tuple[str, InOrder]] = []

    def watch(self, stage: str, order: InOrder) -> None:
        """Check this agent's partitions from now on."""
        self._orders.append((stage, order))

    async def seek(self, stage: str, tp: TP, offset: int, why: Why) -> None:
        """Read `tp` again from `offset`, on the consumer's thread, and count it."""
        self.rereads.labels(tp.topic, why).inc()
        await self.app.consumer.seek_wait({tp: offset})

    async def check(self) -> None:
        """The timer's body: seek again where a hole is still open or a partition stalled."""
        if not self.flowing():
            for _, order in self._orders:
                order.unwatched()
            return
        held = self.app.consumer.assignment()
        for stage, order in self._orders:
            for tp, offset in order.stuck().items():
                if tp in held:
                    log.info("%s: %s still waits for offset %d; reading again from there", stage, tp, offset)
                    await self.seek(stage, tp, offset, "hole")
        ahead = await self._ahead({tp for _, order in self._orders for tp in order.expected} & held)
        for stage, order in self._orders:
            for tp, offset in order.stalled(ahead).items():  # it passes over the partitions of other agents
                log.warning("%s: %s delivered nothing for %.0f s while the consumer is at %d of it; reading again "
                            "from offset %d, the next this agent needs (%s)", stage, tp, order.stall_s, ahead[tp],
                            offset, self._faust_view(tp))
                await self.seek(stage, tp, offset, "stall")

    async def _ahead(self, partitions: set[TP]) -> dict[TP, int]:
        """How far the consumer knows each partition goes: its fetch position or the high watermark."""
        consumer = self.app.consumer
        ahead: dict[TP, int] = {}
        for tp in partitions:
            try:
                position = await asyncio.wait_for(consumer.position(tp), POSITION_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - being assigned, or the broker went: the next tick looks again
                continue
            known = [mark for mark in (position, consumer.highwater(tp)) if mark is not None]
            if known:
                ahead[tp] = max(known)
        return ahead

    def _faust_view(self, tp: TP) -> str:
        """What faust's consumer holds about `tp`, for the warning: which of its drop paths was taken."""
        consumer = self.app.consumer
        held = (("paused", "_paused_partitions"), ("buffer full", "_buffered_partitions"),
                ("active", "_active_partitions"))
        state = next((name for name, attr in held if tp in (getattr(consumer, attr, None) or ())), "not active")
        read = getattr(consumer, "_read_offset", {}).get(tp)
        return f"faust: flow {'on' if consumer.flow_active else 'off'}, partition {state}, read offset {read}"
