"""The same feed gives the same alerts live and in the backtest: real broker and worker against `run_backtest`.

The strike sample is produced in the backtest's order (event time, then id) on one key, so one partition
and the worker sees the order the backtest sees; the worker runs the shipped rules with the same allowed
lateness. Only `first_ingested_at` may differ: live, `ingested_at` is the worker's clock, in the backtest
the event time.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from alerts.backtest import run_backtest
from alerts.rules import default_rules
from schemas import Alert, StrikeReport
from streams import topics
from streams.producer import FeedProducer
from streams.reader import TopicReader
from streams.settings import SalvoSettings
from streams.sources import read_file

SAMPLE = Path(__file__).parents[1] / "alerts" / "testdata" / "strikes_2025-07-01_2025-09-12.csv"
RULES = Path(__file__).parents[2] / "alerts" / "default_rules.yaml"

pytestmark = pytest.mark.broker


def _comparable(alert: Alert) -> str:
    return alert.model_copy(update={"first_ingested_at": None}).model_dump_json()


def test_live_worker_and_backtest_give_the_same_alerts(salvo_settings: SalvoSettings, start_worker) -> None:
    # No start-up hold: it waits on the wall clock, where the backtest's clock is event time.
    salvo_settings = salvo_settings.model_copy(update={"start_hold_s": 0.0})
    expected = run_backtest([SAMPLE], default_rules(), allowed_lateness=salvo_settings.allowed_lateness)
    assert expected.alerts and not expected.rejected and not expected.late

    reports = sorted((r for _, r in read_file(SAMPLE) if isinstance(r, StrikeReport)),
                     key=lambda r: (r.time_end, r.id))
    start_worker(salvo_settings, rules=RULES)
    with FeedProducer(salvo_settings) as producer:
        for report in reports:
            producer.send_raw(topics.STRIKES_RAW, report.model_dump_json().encode(), key=b"strikes-sample")

    live: list[Alert] = []
    deadline = time.monotonic() + 120
    with TopicReader(salvo_settings, [topics.ALERTS]) as reader:
        while len(live) < len(expected.alerts) and time.monotonic() < deadline:
            live += [Alert.model_validate_json(r.value) for r in reader.poll(2)]
        time.sleep(3)
        live += [Alert.model_validate_json(r.value) for r in reader.poll(1)]  # nothing more may arrive

    assert [a.key for a in live] == [a.key for a in expected.alerts]
    assert [_comparable(a) for a in live] == [_comparable(a) for a in expected.alerts]
