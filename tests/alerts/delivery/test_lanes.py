"""Tests of alerts/delivery/lanes.py: passes of one subscription in order, of different ones side by side, and
what a stop (or a crash) leaves in the outbox. Real HTTP receivers; a gate holds a receiver's answers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from alerts.channels import ChannelsConfig, build_channels
from alerts.delivery import Deliverer, DeliveryMetrics, RetryPolicy
from alerts.delivery.lanes import Lanes, Pass
from alerts.outbox import Outbox, OutboxState
from alerts.signing import IDEMPOTENCY_HEADER
from schemas.delivery import DeliveryRecord, DeliveryRequest, DeliveryStatus
from schemas.subscription import Subscription
from tests.alerts.channels.fixtures import Receiver
from tests.alerts.conftest import T0, make_alert, make_subscription


class Clock:
    """The lanes' clock, moved by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class GatedReceiver:
    """A real receiver whose answers wait until `release` (a receiver that hangs, within its timeout)."""

    def __init__(self) -> None:
        self.arrived: list[str] = []  # idempotency keys, in arrival order
        self.statuses: list[int] = []  # answers to give, then 200
        self.gate = asyncio.Event()
        self.gate.set()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def hold(self) -> None:
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.arrived.append(request.headers[IDEMPOTENCY_HEADER])
        await self.gate.wait()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def gated() -> AsyncIterator[GatedReceiver]:
    receiver = GatedReceiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


class Laned:
    """A Deliverer whose passes run in lanes, over a dict store, with a barrier that notes what it saw."""

    def __init__(self, client: httpx.AsyncClient, subs: list[Subscription], store: dict | None = None) -> None:
        self.store: dict[str, Any] = {} if store is None else store
        self.clock = Clock()
        self.lanes = Lanes(clock=self.clock)
        self.log: list[DeliveryRecord] = []
        self.at_barrier: list[dict[str, Any]] = []
        self.deliverer = Deliverer(
            channels=build_channels(ChannelsConfig(), http=client),
            outbox=Outbox(self.store),
            subscriptions={s.name: s for s in subs},
            silences={},
            record=self._record,
            metrics=DeliveryMetrics(CollectorRegistry()),
            policy=RetryPolicy(max_attempts=4, jitter=0.0),
            rng=random.Random(1),
            run=self.lanes,
            durable=self._durable,
        )

    async def _record(self, record: DeliveryRecord) -> None:
        self.log.append(record)

    async def _durable(self) -> None:
        self.at_barrier.append(dict(self.store))

    def state(self, key: str) -> OutboxState:
        entry = Outbox(self.store).get(key)
        assert entry is not None
        return entry.state


async def until(done: Callable[[], object], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not done():
            await asyncio.sleep(0.01)


# -- the lanes alone ---------------------------------------------------------------------------------------


async def test_one_lane_runs_in_order_while_another_goes_on() -> None:
    lanes = Lanes(clock=Clock())
    gate, events = asyncio.Event(), []

    def step(name: str, *, wait: bool = False) -> Pass:
        async def run(now: datetime) -> None:
            events.append(f"start {name}")
            if wait:
                await gate.wait()
            events.append(f"end {name}")

        return run

    lanes.submit("slow", "s1", step("s1", wait=True))
    lanes.submit("slow", "s2", step("s2"))
    lanes.submit("fast", "f1", step("f1"))
    lanes.submit("fast", "f2", step("f2"))
    await until(lambda: "end f2" in events)
    assert events == ["start s1", "start f1", "end f1", "start f2", "end f2"]  # s2 waits behind s1 only
    gate.set()
    await lanes.idle()
    assert events[-3:] == ["end s1", "start s2", "end s2"]


async def test_a_key_queued_or_running_is_not_queued_twice() -> None:
    lanes, gate, runs = Lanes(clock=Clock()), asyncio.Event(), []

    async def run(now: datetime) -> None:
        runs.append(now)
        await gate.wait()

    assert lanes.submit("ops", "k", run) and lanes.holds("k")
    assert not lanes.submit("ops", "k", run)  # a tick while the send hangs
    gate.set()
    await lanes.idle()
    assert not lanes.holds("k") and lanes.submit("ops", "k", run)  # done: the next tick may queue it again
    await lanes.idle()
    assert len(runs) == 2


async def test_a_pass_runs_at_the_time_it_starts_not_when_it_was_queued() -> None:
    clock, gate, seen = Clock(), asyncio.Event(), []
    lanes = Lanes(clock=clock)

    async def first(now: datetime) -> None:
        await gate.wait()

    async def second(now: datetime) -> None:
        seen.append(now)

    lanes.submit("ops", "a", first)
    lanes.submit("ops", "b", second)
    await asyncio.sleep(0)
    clock.now = T0 + timedelta(seconds=35)  # the first send hung for 35 s
    gate.set()
    await lanes.idle()
    assert seen == [T0 + timedelta(seconds=35)]


async def test_a_failing_pass_does_not_stop_its_lane() -> None:
    lanes, done = Lanes(clock=Clock()), []

    async def broken(now: datetime) -> None:
        raise RuntimeError("bug")

    async def fine(now: datetime) -> None:
        done.append(now)

    lanes.submit("ops", "a", broken)
    lanes.submit("ops", "b", fine)
    await lanes.idle()
    assert done == [T0] and not lanes.holds("a")


async def test_stop_cancels_running_and_queued_passes_and_the_lanes_go_on_after() -> None:
    lanes, gate, ran = Lanes(clock=Clock()), asyncio.Event(), []

    async def hangs(now: datetime) -> None:
        await gate.wait()
        ran.append("hangs")

    async def queued(now: datetime) -> None:
        ran.append("queued")

    lanes.submit("ops", "a", hangs)
    lanes.submit("ops", "b", queued)
    await asyncio.sleep(0)
    await lanes.stop()
    gate.set()
    assert ran == [] and not lanes.holds("a") and not lanes.holds("b")
    lanes.submit("ops", "b", queued)
    await lanes.idle()
    assert ran == ["queued"]


# -- the deliverer in lanes --------------------------------------------------------------------------------


async def test_a_hanging_receiver_holds_up_only_its_own_subscription(
    gated: GatedReceiver, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    h = Laned(client, [make_subscription("slow", url=gated.url), make_subscription("good", url=receiver.url)])
    gated.hold()
    alerts = [make_alert(id=f"wave-{n}") for n in range(3)]
    for alert in alerts:
        async with asyncio.timeout(1):  # the agent never waits for a receiver
            assert await h.deliverer.submit(alert, now=T0) == []
    await until(lambda: len(receiver.received) == 3)
    assert [r.headers["Idempotency-Key"] for r in receiver.received] == [a.key for a in alerts]
    assert gated.arrived == [alerts[0].key]  # one request at a time to the slow one
    gated.release()
    await h.lanes.idle()
    assert gated.arrived == [a.key for a in alerts]
    assert sorted((r.subscription, r.status) for r in h.log) == sorted(
        [("good", DeliveryStatus.DELIVERED)] * 3 + [("slow", DeliveryStatus.DELIVERED)] * 3
    )


async def test_the_entries_are_durable_before_any_send(
    gated: GatedReceiver, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    h = Laned(client, [make_subscription("slow", url=gated.url), make_subscription("good", url=receiver.url)])
    await h.deliverer.submit(make_alert(), now=T0)
    (seen,) = h.at_barrier
    assert sorted(seen) == sorted(f"{make_alert().key}|{name}" for name in ("slow", "good"))
    assert all(raw["state"] == "pending" for raw in seen.values())
    await h.lanes.idle()
    assert len(receiver.received) == 1 and len(gated.arrived) == 1


async def test_a_send_in_flight_at_a_crash_is_sent_after_the_restart_with_the_same_key(
    gated: GatedReceiver, client: httpx.AsyncClient
) -> None:
    sub = make_subscription("slow", url=gated.url)
    h = Laned(client, [sub])
    gated.hold()
    await h.deliverer.submit(make_alert(), now=T0)
    await until(lambda: gated.arrived)
    changelog = dict(h.store)  # what the changelog holds while the send is in flight
    await h.lanes.stop()  # kill -9: the send never finishes, its outcome is never written
    gated.release()

    restarted = Laned(client, [sub], store=changelog)
    assert await restarted.deliverer.tick(now=T0 + timedelta(seconds=5)) == []  # queued in its lane
    await restarted.lanes.idle()
    assert gated.arrived == [make_alert().key] * 2
    assert [r.status for r in restarted.log] == [DeliveryStatus.DELIVERED]
    assert restarted.state(f"{make_alert().key}|slow") is OutboxState.DELIVERED


async def test_retries_of_one_receiver_run_in_its_lane_and_the_tick_returns_at_once(
    gated: GatedReceiver, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    h = Laned(client, [make_subscription("slow", url=gated.url), make_subscription("good", url=receiver.url)])
    gated.statuses = [500]
    await h.deliverer.submit(make_alert(id="first"), now=T0)
    await h.lanes.idle()
    assert [(r.subscription, r.status) for r in h.log if r.subscription == "slow"] == [
        ("slow", DeliveryStatus.RETRYING)
    ]
    gated.hold()
    h.clock.now = T0 + timedelta(seconds=1)
    async with asyncio.timeout(1):
        await h.deliverer.tick(now=h.clock.now)  # the retry is due: queued, not awaited
        await h.deliverer.tick(now=h.clock.now)  # and not queued twice while it hangs
        await h.deliverer.submit(make_alert(id="second"), now=h.clock.now)
    await until(lambda: len(receiver.received) == 2)  # the good receiver is not behind the retry
    gated.release()
    await h.lanes.idle()
    assert gated.arrived == ["first:v1", "first:v1", "second:v1"]


async def test_a_version_superseded_while_its_send_hung_is_not_retried(
    gated: GatedReceiver, client: httpx.AsyncClient
) -> None:
    h = Laned(client, [make_subscription("slow", url=gated.url)])
    gated.hold()
    gated.statuses = [500]
    await h.deliverer.submit(make_alert(), now=T0)
    await until(lambda: gated.arrived)
    await h.deliverer.submit(make_alert(version=2, status="updated"), now=T0)  # while v1 hangs
    gated.release()
    await h.lanes.idle()
    entry = Outbox(h.store).get(f"{make_alert().key}|slow")
    assert entry is not None and entry.superseded  # marked by v2's pass, after v1's attempt
    h.clock.now = T0 + timedelta(seconds=5)
    await h.deliverer.tick(now=h.clock.now)
    await h.lanes.idle()
    assert gated.arrived == [make_alert().key, make_alert(version=2).key]  # v1 once (failed), then v2 only


async def test_a_version_still_queued_when_a_newer_one_comes_is_sent_first(
    gated: GatedReceiver, client: httpx.AsyncClient
) -> None:
    h = Laned(client, [make_subscription("slow", url=gated.url)])
    gated.hold()
    await h.deliverer.submit(make_alert(id="earlier"), now=T0)
    await until(lambda: gated.arrived)
    versions = [make_alert(), make_alert(version=2, status="updated")]
    for alert in versions:  # both wait behind the hanging send
        await h.deliverer.submit(alert, now=T0)
    gated.release()
    await h.lanes.idle()
    assert gated.arrived == ["earlier:v1"] + [a.key for a in versions]
    assert [r.status for r in h.log] == [DeliveryStatus.DELIVERED] * 3


async def test_a_request_for_a_removed_subscription_is_logged_from_its_lane(client: httpx.AsyncClient) -> None:
    h = Laned(client, [])
    await h.deliverer.deliver([DeliveryRequest(alert=make_alert(), subscription="gone")], now=T0)
    await h.lanes.idle()
    assert [r.status for r in h.log] == [DeliveryStatus.UNSUBSCRIBED]
