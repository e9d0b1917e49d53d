"""Background work that fails alone: a timer or task error is logged, counted, and the worker carries on.

Faust's agents catch nothing in timers or tasks: one `KeyError` in the lag timer (a partition without a
known start offset during start-up) once took the whole worker down, in 2 of 4 fresh starts. An alert
system must not stop alerting because a gauge could not be refreshed, so every timer body runs through
`Supervisor.timer`, and every long-running task through `Supervisor.task`, which restarts it after a
growing pause. Both count failures in `salvo_task_errors_total{task}`. Cancellation (the worker stopping)
passes through untouched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger(__name__)

Body = Callable[[], Awaitable[None]]


class Supervisor:
    """Wraps the worker's timers and tasks; one per app, on the app's metrics registry."""

    def __init__(self, registry: CollectorRegistry, *, max_pause_s: float = 30.0) -> None:
        self.errors = Counter(
            "salvo_task_errors", "Failures of background timers and tasks, which then carry on.", ["task"],
            registry=registry,
        )
        self.max_pause_s = max_pause_s

    def _failed(self, name: str, then: str) -> None:
        self.errors.labels(task=name).inc()
        log.exception("background work %r failed; %s", name, then)

    def timer(self, name: str, body: Body) -> Body:
        """`body` for a timer: a failure is this interval's only."""
        self.errors.labels(task=name)

        async def run() -> None:
            try:
                await body()
            except Exception:  # a timer must not stop the worker: logged, counted, next interval runs
                self._failed(name, "it runs again at its next interval")

        return run

    def task(self, name: str, body: Body) -> Body:
        """`body` for a task that should run for the worker's life: restarted after 1, 2, 4 … s (at most
        `max_pause_s`) each time it fails or returns."""
        self.errors.labels(task=name)

        async def run() -> None:
            pause = min(1.0, self.max_pause_s)
            while True:
                try:
                    await body()
                    log.warning("background task %r returned; starting it again in %.0f s", name, pause)
                except Exception:  # a task must not stop the worker either
                    self._failed(name, f"starting it again in {pause:.0f} s")
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.max_pause_s)

        return run
