"""Lanes: how delivery passes run, one subscription's after another's never.

A pass is one run of the stages for one outbox entry (`Deliverer`). The `Runner` decides when it runs:
`inline` awaits it at once (tests, `salvo` tools), `Lanes` queues it on its subscription's lane and returns.
A lane is a queue and one task: passes of one subscription run one at a time in the order they were queued,
so first attempts reach a receiver in the order the alert versions were produced (a retry is queued when it
falls due, and a newer version of its alert stops it), while every other lane goes on. A receiver that hangs
holds up its own lane for its own timeout, and no one else's.

Lanes hold nothing durable. Every pass they hold is a pending outbox entry, written (and, in the worker,
acknowledged on the changelog) before it was queued, so stopping the lanes, or a crash, loses no delivery:
the next tick finds the entry due and queues it again (a repeat, with the same idempotency key, if the send
was in flight). A key already queued or running is not queued twice, so ticks do not pile up repeats
behind a slow receiver.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from schemas.delivery import DeliveryRecord

log = logging.getLogger(__name__)

Pass = Callable[[datetime], Awaitable[DeliveryRecord | None]]
"""One delivery pass, run at the time it is given (the loop passes `now`; stages never read the clock)."""


class Runner(Protocol):
    """Runs a pass for the subscription `lane` under the outbox `key`; the record if it ran to the end."""

    async def __call__(self, lane: str, key: str, run: Pass, *, now: datetime) -> DeliveryRecord | None: ...


async def inline(lane: str, key: str, run: Pass, *, now: datetime) -> DeliveryRecord | None:
    """Run the pass now and return its record: the caller waits for the receiver."""
    return await run(now)


class Lanes:
    """One FIFO lane per subscription; a lane's task exists while it has passes and ends when it is empty.

    :param clock: when a queued pass starts, it runs at `clock()` (the time it really runs, so retry delays
        and rate limits count from the actual attempt, not from when it was queued).
    """

    def __init__(self, *, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._queues: dict[str, deque[tuple[str, Pass]]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._keys: set[str] = set()

    async def __call__(self, lane: str, key: str, run: Pass, *, now: datetime) -> DeliveryRecord | None:
        """The `Runner`: queue the pass and return at once (its record goes to the log when it runs)."""
        self.submit(lane, key, run)
        return None

    def submit(self, lane: str, key: str, run: Pass) -> bool:
        """Queue `run` on `lane`; False (and nothing queued) if `key` is already queued or running."""
        if key in self._keys:
            return False
        self._keys.add(key)
        self._queues.setdefault(lane, deque()).append((key, run))
        if lane not in self._tasks:
            self._tasks[lane] = asyncio.get_running_loop().create_task(self._drain(lane), name=f"lane:{lane}")
        return True

    def holds(self, key: str) -> bool:
        """True while a pass under `key` is queued or running."""
        return key in self._keys

    async def idle(self) -> None:
        """Return once every lane is empty (what tests wait for before they look at the outcome)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def stop(self) -> None:
        """Cancel every queued and running pass: the worker stops, or delivery moved to another worker.

        Their entries stay pending in the outbox; the next tick of whoever delivers then queues them again.
        """
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._queues.clear()
        self._tasks.clear()
        self._keys.clear()

    async def _drain(self, lane: str) -> None:
        queue = self._queues[lane]
        try:
            while queue:
                key, run = queue[0]
                try:
                    await run(self._clock())
                except Exception:  # the lane must go on; the entry is still pending, a tick retries it
                    log.exception("delivery pass %s failed unexpectedly", key)
                finally:
                    queue.popleft()
                    self._keys.discard(key)
        finally:
            if not queue:
                self._queues.pop(lane, None)
            self._tasks.pop(lane, None)
