"""Supervised background work: a failing timer or task is logged and counted, and the worker carries on."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from streams.worker.supervise import Supervisor


def errors(registry: CollectorRegistry, task: str) -> float:
    return registry.get_sample_value("salvo_task_errors_total", {"task": task}) or 0.0


async def test_a_failing_timer_body_is_counted_and_the_next_interval_runs(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls % 2:
            raise KeyError("TopicPartition('news.raw', 0)")

    timer = Supervisor(registry).timer("measure_lag", flaky)
    for _ in range(4):
        await timer()  # never raises
    assert calls == 4 and errors(registry, "measure_lag") == 2
    assert "background work 'measure_lag' failed" in caplog.text and "KeyError" in caplog.text


async def test_a_failing_task_is_started_again_after_a_growing_pause() -> None:
    registry = CollectorRegistry()
    starts: list[float] = []
    loop = asyncio.get_running_loop()

    async def follow() -> None:
        starts.append(loop.time())
        raise ConnectionError("broker went away")

    task = asyncio.ensure_future(Supervisor(registry, max_pause_s=0.04).task("follow_views", follow)())
    await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task  # cancellation, the worker stopping, passes through
    assert len(starts) >= 4 and errors(registry, "follow_views") == len(starts)


async def test_cancelling_a_timer_is_not_an_error() -> None:
    registry = CollectorRegistry()

    async def slow() -> None:
        await asyncio.sleep(10)

    run = asyncio.ensure_future(Supervisor(registry).timer("tick", slow)())
    await asyncio.sleep(0)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert errors(registry, "tick") == 0
