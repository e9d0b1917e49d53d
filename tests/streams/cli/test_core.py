"""The core commands as a user runs them: `salvo send`, `salvo broker` and `salvo schemas export`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from kafka import KafkaConsumer

from schemas import NewsItem, StrikeReport
from streams import topics
from streams.broker import free_port
from streams.demo import worker_env
from streams.reader import TopicReader
from streams.settings import SalvoSettings


def salvo(settings: SalvoSettings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], env=worker_env(settings), input=stdin, capture_output=True,
        text=True, timeout=120, check=False,
    )


def _values(settings: SalvoSettings, topic: str) -> list[bytes]:
    with TopicReader(settings, [topic]) as reader:
        return [r.value for r in reader.poll(2) if r.value is not None]


def test_invalid_input_names_the_field_exits_2_and_sends_nothing(salvo_settings: SalvoSettings) -> None:
    stdin = json.dumps({"id": "x", "source": "s", "title": "t", "published_at": "2026-01-01T00:00:00"})
    run = salvo(salvo_settings, "send", "news", stdin=stdin)
    assert run.returncode == 2 and "published_at: Input should have timezone info" in run.stderr
    bad_count = salvo(salvo_settings, "send", "strike", "--model", "Shahed-136/131", "--launched", "-4")
    assert bad_count.returncode == 2 and "launched" in bad_count.stderr
    assert _values(salvo_settings, topics.NEWS_RAW) == [] and _values(salvo_settings, topics.STRIKES_RAW) == []


def test_valid_items_from_flags_and_stdin_arrive(salvo_settings: SalvoSettings) -> None:
    flags = salvo(salvo_settings, "send", "strike", "--model", "Shahed-136/131", "--launched", "400",
                  "--region", "Kharkiv oblast", "--time-end", "2026-03-02T08:00:00+02:00")
    assert flags.returncode == 0, flags.stderr
    news = {"id": "n1", "source": "wire", "title": "Talks open", "published_at": "2026-01-01T10:00:00+00:00"}
    assert salvo(salvo_settings, "send", "news", stdin=json.dumps(news)).returncode == 0
    (strike,) = [StrikeReport.model_validate_json(v) for v in _values(salvo_settings, topics.STRIKES_RAW)]
    assert strike.launched == 400 and strike.affected_regions == ["Kharkiv oblast"]
    (item,) = [NewsItem.model_validate_json(v) for v in _values(salvo_settings, topics.NEWS_RAW)]
    assert item.id == "n1"


def test_broker_command_creates_the_topics_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "broker", "--port", str(port), "--partitions", "3"],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stderr.readline() if process.stderr else ""
        assert f"listening on 127.0.0.1:{port}" in line
        consumer = KafkaConsumer(bootstrap_servers=f"127.0.0.1:{port}")
        names = consumer.topics()
        assert {spec.name for spec in topics.CATALOGUE} <= names
        assert len(consumer.partitions_for_topic(topics.NEWS_RAW) or ()) == 3
        consumer.close()
    finally:
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        assert process.wait(timeout=15) == 0
    assert time.monotonic() - started < 15


def test_schemas_export(tmp_path: Path, salvo_settings: SalvoSettings) -> None:
    run = salvo(salvo_settings, "schemas", "export", str(tmp_path / "out"))
    assert run.returncode == 0
    assert (tmp_path / "out" / "StrikeReport.schema.json").is_file()


def test_topics_create_reports_created_then_existing(salvo_settings: SalvoSettings) -> None:
    fresh = salvo_settings.model_copy(update={"topic_prefix": salvo_settings.topic_prefix + "new."})
    first = salvo(fresh, "topics", "create")
    assert first.returncode == 0 and f"{fresh.topic(topics.ALERTS)}\tcreated" in first.stdout
    again = salvo(fresh, "topics", "create")
    assert f"{fresh.topic(topics.ALERTS)}\texists" in again.stdout


def test_tail_shows_events_late_events_alerts_and_dead_letters(salvo_settings: SalvoSettings) -> None:
    from streams.producer import FeedProducer

    event = {
        "id": "strike:x", "feed": "strikes", "source": "kpszsu", "category": "attack", "confidence": 1.0,
        "lang": "en", "occurred_at": "2025-09-07T09:30:00+03:00", "ingested_at": "2025-09-07T09:30:00+03:00",
        "title": "Shahed-136/131: 810 launched", "facts": {"drones": 810},
    }
    alert = {"id": "a-1", "rule_id": "large-drone-salvo", "severity": "critical", "title": "Large drone salvo: 810",
             "starts_at": "2025-09-07T09:30:00+03:00"}
    with FeedProducer(salvo_settings) as producer:
        producer.send_raw(topics.EVENTS, json.dumps(event).encode())
        producer.send_raw(topics.ALERTS, json.dumps(alert).encode())
        producer.send_raw(topics.EVENTS_LATE, json.dumps({**event, "origin": "strikes.raw/0"}).encode())
    run = salvo(salvo_settings, "tail", "--idle", "3")
    assert run.returncode == 0, run.stderr
    assert "drones=810" in run.stdout and "ALERT  critical large-drone-salvo v1 firing" in run.stdout
    assert "late   attack" in run.stdout and "occurred 2025-09-07T09:30:00+03:00, from strikes.raw/0" in run.stdout
    late = salvo(salvo_settings, "tail", "events.late", "--idle", "2")
    assert late.returncode == 0 and "late   attack" in late.stdout and "ALERT" not in late.stdout
    assert salvo(salvo_settings, "tail", "news.raw", "--idle", "1").returncode == 2
