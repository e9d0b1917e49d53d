"""Background timers under load on the real broker: they may fail, the worker may not (issue 11).

The lag timer raised `KeyError` in start-up and under load, in every run with a 2 s interval, and the
worker exited. Here it runs every 0.2 s from a fresh start through a burst of reports: the worker stays up,
every report is processed, the lag gauge is published, and `salvo_task_errors_total` is served for each
supervised timer and task, so a failure would show on the dashboard instead of stopping alerts.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from schemas import StrikeReport
from streams import topics
from streams.producer import FeedProducer
from streams.reader import TopicReader
from streams.settings import SalvoSettings
from tests.conftest import StartWorker

REPORTS = 2_000


def test_a_lag_timer_every_fifth_of_a_second_under_load_never_stops_the_worker(
    salvo_settings: SalvoSettings, start_worker: StartWorker
) -> None:
    settings = salvo_settings.model_copy(update={"lag_interval_s": 0.2})
    worker = start_worker(settings)
    start = datetime.fromisoformat("2025-01-01T08:00:00+02:00")
    with FeedProducer(settings) as producer:
        for i in range(REPORTS):
            end = start + timedelta(minutes=i)
            producer.send(StrikeReport(id=f"load-{i}", time_start=end - timedelta(hours=1), time_end=end,
                                       model="Shahed-136/131", launched=5, source="kpszsu/load"))
    seen = 0
    deadline = time.monotonic() + 90
    with TopicReader(settings, [topics.EVENTS]) as reader:
        while seen < REPORTS and time.monotonic() < deadline:
            seen += len(reader.poll(1))
            assert worker.poll() is None, "the worker exited"
    assert seen == REPORTS
    time.sleep(2)  # ten more lag intervals at rest
    assert worker.poll() is None
    families = {f.name: f for f in text_string_to_metric_families(
        httpx.get(f"http://127.0.0.1:{settings.web_port}/metrics").text)}
    assert {s.labels["task"] for s in families["salvo_task_errors"].samples} >= {"measure_lag", "tick",
                                                                                 "follow_views"}
    assert families["salvo_consumer_lag"].samples, "the lag gauge is published"
