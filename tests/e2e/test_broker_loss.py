"""The broker goes away and comes back (issue 11): `/readyz` follows it, the worker stays up.

`/readyz` used to answer 200 while the broker was down, because Faust's clients count as started from
their first connection on; `streams.worker.probe` now asks the broker for metadata every 2 s. This test
stops its own embedded broker under a running worker and starts it again on the same port.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

import httpx

from schemas import Alert, StrikeReport, Subscription
from streams import topics
from streams.broker import EmbeddedBroker, free_port, local_settings
from streams.demo import stop_process, subscribe
from streams.producer import FeedProducer
from streams.reader import TopicReader
from streams.receiver import WebhookReceiver
from streams.settings import SalvoSettings
from streams.topics import create_topics
from tests.conftest import StartWorker
from tests.e2e.timeline import Timeline


def readyz(settings: SalvoSettings) -> int | None:
    try:
        return httpx.get(f"http://127.0.0.1:{settings.web_port}/readyz", timeout=2).status_code
    except httpx.HTTPError:
        return None


def wait_status(settings: SalvoSettings, status: int, timeout_s: float) -> float:
    """Seconds until `/readyz` answers `status`; fails the test past `timeout_s`."""
    started = time.monotonic()
    while readyz(settings) != status:
        assert time.monotonic() - started < timeout_s, f"/readyz never answered {status} in {timeout_s:.0f} s"
        time.sleep(0.5)
    return time.monotonic() - started


def test_readyz_fails_while_the_broker_is_down_and_recovers_when_it_is_back(
    tmp_path: Path, start_worker: StartWorker
) -> None:
    port = free_port()
    broker = EmbeddedBroker(port=port).start()
    try:
        settings = local_settings(broker.bootstrap, app_id="salvo-loss", topic_prefix="loss.",
                                  data_dir=tmp_path / "data").model_copy(update={"web_port": free_port()})
        create_topics(settings)
        worker = start_worker(settings)
        wait_status(settings, 200, 60)

        broker.stop()
        down = wait_status(settings, 503, 30)
        assert worker.poll() is None

        broker = EmbeddedBroker(port=port).start()  # memory only: it comes back empty
        create_topics(settings)
        back = wait_status(settings, 200, 60)
        assert worker.poll() is None
        print(f"\n/readyz: 503 {down:.1f} s after the broker stopped, 200 {back:.1f} s after it was back")
    finally:
        broker.stop()


RULES = Path(__file__).with_name("restart.rules.yaml")
KEY = b"one-partition"  # every report on one strikes.raw partition, so its offsets must go back to 0
BEFORE = {f"strike:before-{i}" for i in range(3)}
AFTER = {"strike:after"}


def report(rid: str, night: str) -> bytes:
    """A 600-drone report: alone over the rule's 500-drone night threshold; one alert per night."""
    return StrikeReport(
        id=rid, time_start=f"{night}T20:00:00+03:00", time_end=f"{night}T23:00:00+03:00",
        model="Shahed-136/131", launched=600, source="kpszsu/test",
    ).model_dump_json().encode()


def send(settings: SalvoSettings, *reports: bytes) -> None:
    with FeedProducer(settings) as producer:
        for value in reports:
            producer.send_raw(topics.STRIKES_RAW, value, key=KEY)


def alerted(settings: SalvoSettings, reports: set[str], timeout_s: float) -> set[str]:
    """Which of these report ids an alert on the `alerts` topic names, once all do or `timeout_s` passed
    (a night's alert also gets a `resolved` version later, so records are not counted)."""
    deadline = time.monotonic() + timeout_s
    found: set[str] = set()
    with TopicReader(settings, [topics.ALERTS]) as reader:
        while found < reports and time.monotonic() < deadline:
            found |= {event for r in reader.poll(1) if r.value is not None
                      for event in Alert.model_validate_json(r.value).event_ids}
    return found & reports


async def subscribed(settings: SalvoSettings, receiver: WebhookReceiver) -> None:
    await asyncio.to_thread(subscribe, settings, Subscription.model_validate(
        {"name": "ops", "target": {"type": "webhook", "url": receiver.url, "secret": receiver.secret}}))


async def delivered(receiver: WebhookReceiver, reports: set[str], timeout_s: float) -> set[str]:
    """Which of these report ids the webhook was sent an alert for, once all are or `timeout_s` passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = {event for item in receiver.received for event in item.body["alert"]["event_ids"]} & reports
        if found == reports or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.25)


async def test_a_broker_back_empty_under_a_running_worker_loses_no_alert(
    tmp_path: Path, start_worker: StartWorker
) -> None:
    """The worker had read 3 reports (positions 3 on strikes.raw, dozens on events.classified) when the broker
    lost everything; the first report afterwards sits at offset 0 and must alert all the same.

    The subscription lived on the lost broker too (`subscriptions` is a topic), so the test subscribes again,
    as an operator would (docs/production.md, "Broker loss"), before the report is sent.
    """
    timeline = Timeline()
    port = free_port()
    broker = EmbeddedBroker(port=port).start()
    receiver = await WebhookReceiver(secret=secrets.token_hex(16)).start()
    try:
        settings = local_settings(broker.bootstrap, app_id="salvo-loss", topic_prefix="loss.",
                                  data_dir=tmp_path / "data").model_copy(update={"web_port": free_port()})
        create_topics(settings)
        await subscribed(settings, receiver)
        worker = await asyncio.to_thread(start_worker, settings, rules=RULES)
        await asyncio.to_thread(send, settings, *(report(f"before-{i}", f"2025-08-0{i + 1}") for i in range(3)))
        assert await asyncio.to_thread(alerted, settings, BEFORE, 60) == BEFORE
        assert await delivered(receiver, BEFORE, 30) == BEFORE
        timeline.note("3 reports alerted and were delivered")

        broker.stop()
        down = await asyncio.to_thread(wait_status, settings, 503, 30)
        timeline.note(f"broker stopped; /readyz 503 after {down:.1f} s")
        broker = EmbeddedBroker(port=port).start()  # memory only: it comes back empty
        create_topics(settings)
        back = time.monotonic()
        timeline.note("an empty broker is back on the same port, topics created")
        await subscribed(settings, receiver)
        await asyncio.to_thread(send, settings, report("after", "2025-08-20"))
        timeline.note("re-subscribed; one report sent (strikes.raw offset 0)")

        assert await asyncio.to_thread(alerted, settings, AFTER, 90) == AFTER
        timeline.note(f"the alert is on the alerts topic, {time.monotonic() - back:.1f} s after the broker was back")
        assert await delivered(receiver, AFTER, 30) == AFTER
        timeline.note(f"the webhook has it, {time.monotonic() - back:.1f} s after the broker was back")
        ready = await asyncio.to_thread(wait_status, settings, 200, 30)
        timeline.note(f"/readyz 200 (+{ready:.1f} s)")
        assert worker.poll() is None, "the worker must rebuild, not exit"
        print("\n" + timeline.render())
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{timeline.render()}") from exc
    finally:
        await receiver.stop()
        broker.stop()


def test_a_worker_restarted_on_its_data_dir_against_an_empty_broker_alerts(
    tmp_path: Path, start_worker: StartWorker
) -> None:
    """The second half of issue 11's observation: the worker is stopped with the broker, and started again on
    the same data dir (RocksDB, as `salvo worker` defaults to) against the empty broker that came back."""
    port = free_port()
    broker = EmbeddedBroker(port=port).start()
    try:
        settings = local_settings(broker.bootstrap, app_id="salvo-loss", topic_prefix="loss.", store="rocksdb://",
                                  data_dir=tmp_path / "data").model_copy(update={"web_port": free_port()})
        create_topics(settings)
        worker = start_worker(settings, rules=RULES)
        send(settings, *(report(f"before-{i}", f"2025-08-0{i + 1}") for i in range(3)))
        assert alerted(settings, BEFORE, 60) == BEFORE
        time.sleep(3)  # offsets committed
        broker.stop()
        stop_process(worker)

        broker = EmbeddedBroker(port=port).start()
        create_topics(settings)
        start_worker(settings, rules=RULES)
        started = time.monotonic()
        send(settings, report("after", "2025-08-20"))
        assert alerted(settings, AFTER, 60) == AFTER
        print(f"\nrestarted worker: alert {time.monotonic() - started:.1f} s after the report")
    finally:
        broker.stop()
