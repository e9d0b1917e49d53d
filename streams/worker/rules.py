"""The rules stage: `events.classified` in batches through the pure rule engine, exact under kill -9.

For each batch the stream hands over (`alerts.state` explains why this order makes a crash harmless):

1. records the state has already applied are skipped: a crash redelivers whatever was not committed;
2. clock records advance the engine and events are processed, each in a savepoint, so a failing event is
   dead-lettered whole and the rest of the batch goes on;
3. the batch's alerts, late events and dead letters are published and acknowledged by the broker;
4. the batch's one log record (and a checkpoint when due) goes to the table's changelog and is acknowledged;
5. only then are the events acked, so Faust commits their offsets after all of the above.

A crash before step 4 loses nothing: the batch is processed again from the same state and the same records,
so it publishes the same alert versions again (the same idempotency keys; notify delivers each once). A crash
after it replays nothing twice: the state says which offsets it holds.

The clock travels in-band: ticks are records of `events.classified` itself (marked by `topics.TICK_HEADER`),
not of a second topic, so the rules read one partition in one order, and a batch processed again after a
crash sees events and ticks in exactly the order it saw them the first time.

A state whose offsets are past the true end of `events.classified` was built on records the broker lost
(`streams.worker.rewind`): it is reset at recovery, durably, and the rules read the partition from where the
consumer starts, rather than skip the records that now come at those offsets.

The state table keeps its memory store even when the worker's default is RocksDB: a local store written
before the changelog was acknowledged would be ahead of it after kill -9, and only a store rebuilt from the
changelog is the prefix that `alerts.state` reasons about. It is small (a few hundred keys).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from typing import Any

import faust
from faust.types import EventT

from alerts.engine import RuleEngine
from alerts.state import BatchState, write
from schemas import Alert, ClassifiedEvent, RejectReason
from streams import topics
from streams.delivery import Control
from streams.ingest import Rejection, decode
from streams.metrics import PipelineMetrics
from streams.worker.batches import InOrder, positions
from streams.worker.changelog import ChangelogWriter
from streams.worker.publish import Publisher
from streams.worker.rewind import behind, describe

log = logging.getLogger(__name__)

ErrorPolicy = Callable[[EventT, RejectReason, str, str], Awaitable[Any]]


def is_tick(event: EventT) -> bool:
    """True for an in-band clock record."""
    return any(key == topics.TICK_HEADER for key, _ in _headers(event))


def _headers(event: EventT) -> Iterator[tuple[str, bytes]]:
    headers = event.headers or {}
    yield from headers.items() if isinstance(headers, dict) else headers


class RulesStage:
    """The rule engine over a batch-written table, and the order in which a batch becomes durable."""

    def __init__(
        self,
        app: faust.App,
        build_engine: Callable[[MutableMapping[str, Any]], RuleEngine],
        *,
        alerts: faust.TopicT,
        late: faust.TopicT,
        metrics: PipelineMetrics,
        max_message_bytes: int,
        bootstrap_servers: str,
    ) -> None:
        """:param build_engine: the engine over a given state mapping (the worker's settings and rules).
        :param bootstrap_servers: where the true ends of the input partitions are read at recovery."""
        self.app = app
        self.bootstrap_servers = bootstrap_servers
        self.table = app.Table(
            "rule-state",
            partitions=1,
            # faust treats a bare "memory://" as no store at all (the URL is falsy) and falls back to the app's
            store="memory://rule-state",
            help="Rule engine state as a log of batches and a checkpoint (alerts.state).",
        )
        self._writer = ChangelogWriter(self.table)
        # Reads go to the store directly too: the engine asks for many keys per event, and the table's own
        # lookups add sensor calls and exceptions that the batch cache makes pointless.
        self.state = BatchState(self._writer)
        self.order = InOrder()
        self.table.on_recover(self._recovered)
        self.engine = build_engine(self.state)
        self.alerts = Publisher(app, alerts)
        self.late = Publisher(app, late)
        self.metrics = metrics
        self.max_message_bytes = max_message_bytes

    async def _recovered(self) -> None:
        """Rebuild the state, and read on right after the last batch it holds, whatever Faust committed; or start
        it empty if the broker no longer has the records it was built on."""
        self.state.recovered()
        lost = await behind(self.bootstrap_servers, positions(self.state.offsets))
        if lost:
            log.warning("rule state was built on records the broker lost (%s); starting it empty", describe(lost))
            write(self._writer, self.state.reset())
            await self._writer.acknowledged()
        self.order.resume(positions(self.state.offsets))

    async def process(self, events: Sequence[EventT], on_error: ErrorPolicy) -> None:
        """One batch, in the order the module doc gives."""
        started = time.perf_counter()
        offsets: dict[str, int] = {}
        alerts: list[Alert] = []
        sent: list[Awaitable[Any]] = []
        published = False
        for event in events:
            where = f"{event.message.topic}/{event.message.partition}"
            if self.state.applied(where, event.message.offset):
                continue
            offsets[where] = event.message.offset
            record = self._decode(event)
            if isinstance(record, Rejection):
                await on_error(event, record.reason, record.error, "rules")
                published = True
                continue
            try:
                with self.state.savepoint():
                    found, late = self._apply(record)
            except Exception as exc:  # the batch must go on: the policy dead-letters this one event
                log.exception("rules failed on %s@%s", event.message.topic, event.message.offset)
                await on_error(event, RejectReason.PROCESSING, f"{type(exc).__name__}: {exc}", "rules")
                published = True
                continue
            alerts += found
            if late:
                sent.append(await self.late.send(event.key, event.value))
        for alert in alerts:
            sent.append(await self.alerts.send(alert.id.encode(), alert.model_dump_json().encode()))
        if sent or published:
            await self.app.producer.flush()
            await asyncio.gather(*sent)  # raises if the broker refused one: the batch must not be logged
        writes = self.state.commit(offsets)
        if writes:
            write(self._writer, writes)
            await self._writer.acknowledged()
        self.metrics.child(self.metrics.stage_seconds, "rules").observe(time.perf_counter() - started)

    def _decode(self, event: EventT) -> Control | ClassifiedEvent | Rejection:
        """A tick, an event, or why the record cannot be applied."""
        if is_tick(event):
            try:
                return Control.decode(event.value or b"")
            except (ValueError, KeyError, TypeError) as exc:  # Salvo writes ticks, but anyone can add a header
                return Rejection(RejectReason.MALFORMED, f"clock record: {type(exc).__name__}: {exc}")
        return decode(event.value, ClassifiedEvent, max_bytes=self.max_message_bytes)

    def _apply(self, record: Control | ClassifiedEvent) -> tuple[list[Alert], bool]:
        """(alerts, late) of one record: a tick advances the clock, an event goes through the rules."""
        if isinstance(record, Control):
            return self.engine.advance(record.now), False
        outcome = self.engine.process(record)
        if outcome.duplicate:
            self.metrics.child(self.metrics.duplicates, record.feed).inc()
        return outcome.alerts, outcome.late
