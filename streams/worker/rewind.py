"""The broker went backwards: records this worker's positions and state were built on are gone (issue 11).

The embedded broker keeps everything in memory, so a restarted one comes back empty (on Apache Kafka an
unclean leader election or a re-created topic does the same to some partitions). The worker's positions are
then past the ends of its partitions, and every layer took that for "done":

- Tansu answers a fetch past the end with an empty result, not OFFSET_OUT_OF_RANGE, so the consumer waited at
  its old position for records that now come at lower offsets (measured: position 5, high watermark 1);
- `InOrder` acked offsets below its expectation as processed, and faust committed them on the new broker, so
  a worker started afterwards began past them too;
- the rule state skips offsets up to the last it applied, and delivery resumes after its outbox position.

A report at strikes.raw/0@0 was never ingested, and `/readyz` said 200.

What the worker does, the simplest correct rebuild:

- At start, nothing is trusted past the true end of its partition: a committed offset past it is read from the
  beginning (`streams.worker.transport`), rule state whose offsets are past it starts empty
  (`streams.worker.rules`), and delivery drops an outbox position past it (`streams.app`).
- Running, `Rewind` holds every batch and every offset commit from the first failed broker probe until the
  broker answers again and every position of this worker has been compared with the true ends. None went
  back: processing goes on. One did: the worker logs one line and replaces itself with a fresh process
  (`os.execv`: same pid, arguments and environment), which takes the first path. Resetting a running worker
  in place would mean resetting faust's fetch, read and commit offsets, every `InOrder`, both tables and the
  subscription views while batches are in flight; a fresh process after a kill is what
  `tests/e2e/test_crash_exact.py` already proves exact, and holding commits means the old process left the
  new broker no offset from the old numbering.

Offsets are the only evidence, so a partition that received more records after the loss than this worker had
read before it, before the comparison ran, is not seen to have gone back. The hold closes that window for
everything this worker writes itself (ticks, commits); producers of the raw topics are outside it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from typing import NoReturn

import faust
from faust.types import TP
from kafka import KafkaConsumer, TopicPartition

from streams.lag import true_end_offsets
from streams.worker.batches import InOrder

log = logging.getLogger(__name__)

POSITION_TIMEOUT_S = 2.0

Behind = dict[TP, tuple[int, int]]  # partition -> (the worker's next offset, the true end)


def true_ends(servers: str | list[str], partitions: Iterable[TP]) -> dict[TP, int]:
    """The true next offset of each partition (kafka-python blocks: call it in a thread); 0 for a partition
    the broker does not have (a topic not created again, such as faust's assignor topic: it holds nothing)."""
    wanted = {TP(tp.topic, tp.partition) for tp in partitions}
    if not wanted:
        return {}
    probe = KafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False)
    try:
        known = [TopicPartition(*tp) for tp in sorted(wanted)
                 if tp.partition in (probe.partitions_for_topic(tp.topic) or ())]
        ends = {TP(*tp): end for tp, end in true_end_offsets(probe, known).items()} if known else {}
        return {tp: ends.get(tp, 0) for tp in wanted}
    finally:
        probe.close()


def went_back(marks: Mapping[TP, int], ends: Mapping[TP, int]) -> Behind:
    """Partitions whose next offset to read is past their true end: the broker lost records there."""
    return {tp: (mark, ends[tp]) for tp, mark in marks.items() if tp in ends and mark > ends[tp]}


def describe(behind: Behind) -> str:
    """`topic/partition at N, end M` for each, in one line."""
    return ", ".join(f"{tp.topic}/{tp.partition} at {mark}, end {end}" for tp, (mark, end) in sorted(behind.items()))


async def behind(servers: str, marks: Mapping[TP, int]) -> Behind:
    """`went_back` against the true ends read now."""
    return went_back(marks, await asyncio.to_thread(true_ends, servers, marks))


def restart() -> NoReturn:
    """Replace this process with a fresh worker: same interpreter, arguments, environment and pid."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


class Rewind:
    """Holds processing and commits while the broker may have come back without this worker's records."""

    def __init__(self, app: faust.App, bootstrap_servers: str) -> None:
        self.app = app
        self.bootstrap_servers = bootstrap_servers
        self.orders: list[InOrder] = []
        self.clear = asyncio.Event()
        self.clear.set()

    def suspect(self) -> None:
        """The broker did not answer: whatever comes back must be checked before anything goes on."""
        self.clear.clear()

    async def hold(self) -> None:
        """Return once nothing is suspected (a batch waits here, unprocessed and unacked)."""
        await self.clear.wait()

    async def marks(self) -> dict[TP, int]:
        """The next offset this worker would read of each partition it holds: the furthest of the consumer's
        fetch position and every agent's expectation."""
        assigned = self.app.consumer.assignment()
        marks: dict[TP, int] = {}
        for order in self.orders:
            for tp, offset in order.expected.items():
                if tp in assigned:
                    marks[tp] = max(marks.get(tp, 0), offset)
        for tp in assigned:
            try:
                position = await asyncio.wait_for(self.app.consumer.position(tp), POSITION_TIMEOUT_S)
            except Exception:  # unknown yet (being assigned) or the broker went again: the expectations count
                continue
            if position is not None:
                marks[tp] = max(marks.get(tp, 0), position)
        return marks

    async def check(self) -> None:
        """Compare every position with the true ends: go on if none went back, else start afresh."""
        lost = await behind(self.bootstrap_servers, await self.marks())
        if not lost:
            self.clear.set()
            return
        log.error("the broker came back without records this worker had read (%s): restarting the worker to "
                  "read them again from the broker and rebuild its state", describe(lost))
        restart()
