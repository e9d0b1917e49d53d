"""`salvo replay` on the real broker: same alerts as the backtest, paced by event time, bad rows reported,
and no subscriber reached without `--deliver`."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaProducer

from alerts.backtest import run_backtest
from alerts.rules import default_rules
from schemas import Alert, StrikeReport, Subscription
from schemas.delivery import DeliveryRecord
from streams import topics
from streams.demo import subscribe, worker_env
from streams.events import strike_event
from streams.producer import FeedProducer
from streams.reader import TopicReader
from streams.receiver import WebhookReceiver
from streams.replay import ReplaySummary, replay
from streams.settings import SalvoSettings

pytestmark = pytest.mark.broker

SAMPLE = Path(__file__).parents[1] / "alerts" / "testdata" / "strikes_2025-07-01_2025-09-12.csv"
RULES = Path(__file__).parents[2] / "alerts" / "default_rules.yaml"
HEADER = "time_start,time_end,model,launched,destroyed,affected region,source\n"


def salvo(settings: SalvoSettings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `salvo` CLI against these settings."""
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], env=worker_env(settings), capture_output=True, text=True,
        timeout=300, check=False,
    )


def read_all(settings: SalvoSettings, topic: str, *, expect: int, timeout_s: float = 120) -> list[bytes]:
    """Every value on a topic once at least `expect` arrived and nothing more came for 3 s."""
    values: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    with TopicReader(settings, [topic]) as reader:
        quiet = 0
        while time.monotonic() < deadline and (len(values) < expect or quiet < 3):
            batch = reader.poll(1)
            values += [r.value for r in batch if r.value is not None]
            quiet = 0 if batch else quiet + 1
    return values


def _comparable(alert: Alert) -> str:
    return alert.model_copy(update={"first_ingested_at": None, "replay": None}).model_dump_json()


def test_a_month_replayed_gives_the_backtest_alerts_and_a_second_replay_adds_none(
    salvo_settings: SalvoSettings, start_worker
) -> None:
    # Several partitions (the fixture's two): the replay pins one, so the worker sees the backtest's order. No
    # start-up hold here, which waits on the wall clock where the backtest's clock is event time.
    settings = salvo_settings.model_copy(update={"start_hold_s": 0.0})
    expected = run_backtest(
        [SAMPLE], default_rules(), since=date(2025, 8, 1), until=date(2025, 8, 31),
        allowed_lateness=settings.allowed_lateness,
    )
    assert len(expected.alerts) > 10 and not expected.late

    start_worker(settings, rules=RULES)
    run = salvo(settings, "replay", str(SAMPLE), "--max", "--from", "2025-08-01", "--to", "2025-08-31")
    assert run.returncode == 0, run.stderr
    assert "alerts are not delivered" in run.stderr

    live = [Alert.model_validate_json(v) for v in read_all(settings, topics.ALERTS, expect=len(expected.alerts))]
    assert [a.key for a in live] == [a.key for a in expected.alerts]
    assert [_comparable(a) for a in live] == [_comparable(a) for a in expected.alerts]
    assert all(a.replay is not None and not a.replay.deliver for a in live)

    again = salvo(settings, "replay", str(SAMPLE), "--max", "--from", "2025-08-01", "--to", "2025-08-31")
    assert again.returncode == 0, again.stderr
    time.sleep(5)
    assert len(read_all(settings, topics.ALERTS, expect=len(live), timeout_s=30)) == len(live)


def test_an_air_raid_night_replayed_opens_on_its_wave_as_in_the_backtest(
    salvo_settings: SalvoSettings, start_worker
) -> None:
    """The real night of 29 Dec 2023: its alerts onto airraid.raw, its strike rows onto strikes.raw, one worker.
    Two raw topics are two agents that race each other at --max, so the replay is paced (two days of history in
    about a minute, the wave 1.4 s ahead of the first report) to keep their order, as it is live."""
    settings = salvo_settings
    files = [SAMPLE.parent / "airraid_2023-12-25_2024-01-07.csv", SAMPLE.parent / "strikes_2023-12-29.csv"]
    night = {"since": date(2023, 12, 28), "until": date(2023, 12, 29)}
    # Resolved versions left out: live, the strike partition holds the watermark until it idles (5 min).
    expected = [a for a in run_backtest(files, default_rules(), allowed_lateness=settings.allowed_lateness,
                                        **night).alerts if a.status != "resolved"]
    assert {"info", "critical"} <= {a.severity for a in expected}

    start_worker(settings, rules=RULES)
    run = salvo(settings, "replay", *map(str, files), "--from", "2023-12-28", "--to", "2023-12-29", "--speed", "3000")
    assert run.returncode == 0, run.stderr
    live = [alert for v in read_all(settings, topics.ALERTS, expect=len(expected))
            if (alert := Alert.model_validate_json(v)).status != "resolved"]
    assert [_comparable(a) for a in live] == [_comparable(a) for a in expected]


def test_speed_follows_event_time_within_tolerance(salvo_settings: SalvoSettings) -> None:
    # Eleven reports 4 s apart in event time: 40 s of history at --speed 20 takes 2 s.
    reports = [
        StrikeReport(
            id=f"pace-{i}", time_start=f"2025-08-01T00:00:{i * 4:02d}+03:00",
            time_end=f"2025-08-01T00:00:{i * 4:02d}+03:00", model="Shahed-136/131", launched=10, source="test",
        )
        for i in range(11)
    ]
    summary = ReplaySummary()
    with FeedProducer(salvo_settings) as producer:
        started = time.monotonic()
        replay(reports, producer, speed=20, summary=summary)
        elapsed = time.monotonic() - started
    assert summary.total == 11
    assert 1.9 <= elapsed <= 2.6, f"40 s of event time at 20x took {elapsed:.2f}s"


def test_bad_rows_are_reported_with_file_and_line_and_the_rest_is_sent(
    salvo_settings: SalvoSettings, tmp_path: Path
) -> None:
    feed = tmp_path / "strikes.csv"
    feed.write_text(
        HEADER
        + "2025-08-01 18:00,2025-08-02 08:00,Shahed-136/131,120.0,100.0,,kpszsu/a\n"
        + "yesterday,2025-08-02 08:00,Shahed-136/131,120.0,100.0,,kpszsu/b\n"
        + "2025-08-02 18:00,2025-08-03 08:00,Shahed-136/131,-5,0.0,,kpszsu/c\n"
        + "2025-08-03 18:00,2025-08-04 08:00,Kalibr,7.0,5.0,,kpszsu/d\n"
    )
    run = salvo(salvo_settings, "replay", str(feed), "--max")
    assert run.returncode == 0, run.stderr
    assert f"{feed}:3:" in run.stderr and f"{feed}:4:" in run.stderr
    assert "2 rows rejected" in run.stderr
    assert len(read_all(salvo_settings, topics.STRIKES_RAW, expect=2, timeout_s=20)) == 2


def test_a_replay_behind_the_live_events_says_in_one_line_why_it_will_be_late(
    salvo_settings: SalvoSettings
) -> None:
    """Following the README in order, the replay landed behind the watermark of the hand session's live strike
    and delivered nothing, with no explanation."""
    assert "note" not in salvo(salvo_settings, "replay", str(SAMPLE), "--max").stderr  # nothing live yet
    live = strike_event(StrikeReport(id="live", time_start=datetime.now(UTC) - timedelta(hours=8),
                                     time_end=datetime.now(UTC), model="Shahed-136/131", launched=400,
                                     source="kpszsu/live"), ingested_at=datetime.now(UTC))
    producer = KafkaProducer(bootstrap_servers=salvo_settings.bootstrap_servers)
    producer.send(salvo_settings.topic(topics.EVENTS), key=live.id.encode(), value=live.model_dump_json().encode())
    producer.flush()
    producer.close()
    run = salvo(salvo_settings, "replay", str(SAMPLE), "--max")
    assert run.returncode == 0, run.stderr
    [note] = [line for line in run.stderr.splitlines() if line.startswith("note")]
    assert "are older than the live events" in note and "SALVO_TOPIC_PREFIX" in note


async def test_replay_pages_nobody_without_deliver_and_does_with_it(
    salvo_settings: SalvoSettings, start_worker, tmp_path: Path
) -> None:
    receiver = await WebhookReceiver(secret=secrets.token_hex(16)).start()
    try:
        subscribe(salvo_settings, Subscription.model_validate(
            {"name": "ops", "target": {"type": "webhook", "url": receiver.url, "secret": receiver.secret}}
        ))
        start_worker(salvo_settings, rules=RULES)
        rehearsal, real = tmp_path / "rehearsal.csv", tmp_path / "real.csv"
        rehearsal.write_text(HEADER + "2025-08-01 18:00,2025-08-02 08:00,Shahed-136/131,450.0,400.0,,kpszsu/r\n")
        real.write_text(HEADER + "2025-08-10 18:00,2025-08-11 08:00,Shahed-136/131,500.0,450.0,,kpszsu/d\n")

        assert (await asyncio.to_thread(salvo, salvo_settings, "replay", str(rehearsal), "--max")).returncode == 0
        log = [DeliveryRecord.model_validate_json(v)
               for v in await asyncio.to_thread(read_all, salvo_settings, topics.DELIVERY_LOG, expect=1)]
        assert {(r.subscription, r.status) for r in log} == {("ops", "replay")}
        assert receiver.received == []

        done = await asyncio.to_thread(salvo, salvo_settings, "replay", str(real), "--max", "--deliver")
        assert done.returncode == 0 and "will be delivered" in done.stderr
        deadline = time.monotonic() + 60
        while not receiver.received and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
    finally:
        await receiver.stop()
    assert {item.body["alert"]["event_ids"][0] for item in receiver.received} >= {"strike:" + _id_of(real)}


def _id_of(path: Path) -> str:
    from streams.sources import read_file

    (_, report), = list(read_file(path))
    assert isinstance(report, StrikeReport)
    return report.id
