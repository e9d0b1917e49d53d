"""Bad input never kills the pipeline and never silences it: a real worker on the real broker, fed hostile
messages between valid ones (issue 11's "plausible input" and fuzz cases).

- A report dated in the year 9999 once moved the watermark there, and the 5 valid 400-drone reports after it
  fired nothing. Now it is dead-lettered as `implausible_time` and all 5 alert.
- An air-raid alert from the year 9999, one that ends before it starts and one that is not JSON are
  dead-lettered, and the wave of 16 oblasts after them still opens the night's incident.
- A seeded burst of every kind of hostile message (`tests/e2e/hostile.py`), valid reports among them: every
  hostile one is in `deadletter` with its reason (a 2 MB one included, its letter cut to a prefix with the
  size and digest), every valid one alerts, the worker stays up, and its memory stays bounded. `make test`
  runs 300 messages; `make chaos` runs 10,000.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaProducer

from schemas import AirRaidAlert, Alert, DeadLetter, StrikeReport
from streams import topics
from streams.reader import TopicReader
from streams.settings import SalvoSettings
from tests.alerts.test_waves import OBLASTS
from tests.conftest import StartWorker
from tests.e2e.hostile import BASE, hostile_messages

RULES = Path(__file__).with_name("large-salvo.rules.yaml")
DEFAULT_RULES = Path(__file__).parents[2] / "alerts" / "default_rules.yaml"
FIRST_NIGHT = datetime.fromisoformat("2026-03-02T08:00:00+02:00")
BIG = 2 * 1024 * 1024  # past the worker's 1 MB message limit, and past the producer's default record limit


def valid(night: int) -> StrikeReport:
    """A 400-drone report on its own night (nights are days apart, so each opens its own incident)."""
    end = FIRST_NIGHT + timedelta(days=2 * night)
    return StrikeReport.model_validate({**BASE, "id": f"valid-{night}", "time_start": end - timedelta(hours=14),
                                        "time_end": end})


def producer(settings: SalvoSettings) -> KafkaProducer:
    """A plain producer that may send what Salvo's own would refuse: nulls, junk, and 2 MB records."""
    return KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all", max_request_size=4 * BIG)


def collect(settings: SalvoSettings, *, alerts: int, letters: int, timeout_s: float
            ) -> tuple[list[Alert], list[DeadLetter], int]:
    """Alerts and dead letters once both counts are reached (or at the timeout), and events.late's size."""
    found_alerts: list[Alert] = []
    found_letters: list[DeadLetter] = []
    late = 0
    deadline = time.monotonic() + timeout_s
    with TopicReader(settings, [topics.ALERTS, topics.DEADLETTER, topics.EVENTS_LATE]) as reader:
        while (len(found_alerts) < alerts or len(found_letters) < letters) and time.monotonic() < deadline:
            for record in reader.poll(1):
                if record.topic.endswith(topics.ALERTS):
                    found_alerts.append(Alert.model_validate_json(record.value))
                elif record.topic.endswith(topics.DEADLETTER):
                    found_letters.append(DeadLetter.model_validate_json(record.value))
                else:
                    late += 1
    return found_alerts, found_letters, late


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_year_9999_report_cannot_silence_the_five_valid_reports_after_it(
    salvo_settings: SalvoSettings, start_worker: StartWorker
) -> None:
    start_worker(salvo_settings, rules=RULES)
    raw = salvo_settings.topic(topics.STRIKES_RAW)
    with producer(salvo_settings) as kafka:
        kafka.send(raw, partition=0, value=StrikeReport.model_validate(
            {**BASE, "id": "year-9999", "time_start": "9999-12-30T00:00:00Z", "time_end": "9999-12-31T00:00:00Z"}
        ).model_dump_json().encode())
        kafka.send(raw, partition=0, value=valid(0).model_copy(
            update={"id": "hidden", "model": "Shahed\x1b[2J\u202e-136"}).model_dump_json().encode())
        for night in range(1, 6):
            kafka.send(raw, partition=0, value=valid(night).model_dump_json().encode())
    alerts, letters, late = collect(salvo_settings, alerts=6, letters=1, timeout_s=60)

    assert sorted(i for a in alerts for i in a.event_ids) == sorted(
        ["strike:hidden", *(f"strike:valid-{n}" for n in range(1, 6))]), "every valid report alerts"
    assert late == 0
    (letter,) = letters
    assert letter.reason == "implausible_time" and "9999" in letter.error
    hidden = next(a for a in alerts if "strike:hidden" in a.event_ids)
    text = hidden.model_dump_json()
    assert "\\u001b" not in text and "\\u202e" not in text and "\u202e" not in text, "controls are stripped"


def test_a_hostile_air_raid_alert_cannot_hide_the_wave_after_it(
    salvo_settings: SalvoSettings, start_worker: StartWorker
) -> None:
    start_worker(salvo_settings, rules=DEFAULT_RULES)
    raw = salvo_settings.topic(topics.AIRRAID_RAW)
    start = datetime.fromisoformat("2026-03-02T02:00:00+00:00")
    with producer(salvo_settings) as kafka:
        kafka.send(raw, partition=0, value=AirRaidAlert(
            id="y9999", oblast="Kyivska oblast", started_at="9999-12-30T00:00:00Z").model_dump_json().encode())
        kafka.send(raw, partition=0, value=b'{"id": "backwards", "oblast": "Lvivska oblast", '
                   b'"started_at": "2026-03-02T03:00:00Z", "finished_at": "2026-03-02T01:00:00Z"}')
        kafka.send(raw, partition=0, value=b"\xff not json")
        for i, oblast in enumerate(OBLASTS[:16]):
            kafka.send(raw, partition=0, value=AirRaidAlert(
                id=f"wave-{i}", oblast=oblast, started_at=start + timedelta(minutes=i)).model_dump_json().encode())
    alerts, letters, late = collect(salvo_settings, alerts=1, letters=3, timeout_s=60)
    assert sorted(letter.reason for letter in letters) == ["implausible_time", "malformed", "schema"]
    assert [(a.rule_id, a.severity, a.facts.alerted) for a in alerts] == [("attack-night", "info", 15)]
    assert late == 0


def run_fuzz(settings: SalvoSettings, start_worker: StartWorker, *, seed: int, count: int, every: int) -> None:
    """`count` hostile messages with a valid report after every `every`-th, then the checks of the module doc."""
    worker = start_worker(settings, rules=RULES)
    time.sleep(5)
    before = rss_mb(worker.pid)
    raw = settings.topic(topics.STRIKES_RAW)
    expected: Counter[str] = Counter()
    big: bytes | None = None
    nights = 0
    with producer(settings) as kafka:
        for i, message in enumerate(hostile_messages(seed, count, oversized_bytes=BIG)):
            kafka.send(raw, partition=0, key=f"hostile-{i}".encode(), value=message.value)
            expected[message.reason] += 1
            if message.kind == "oversized" and big is None:
                big = message.value
            if i % every == every - 1:
                kafka.send(raw, partition=0, value=valid(nights).model_dump_json().encode())
                nights += 1
    alerts, letters, late = collect(settings, alerts=nights, letters=count, timeout_s=60 + count / 50)

    assert worker.poll() is None, "the worker is still running"
    assert Counter(letter.reason for letter in letters) == expected, "every hostile message, with its reason"
    assert sorted(i for a in alerts for i in a.event_ids) == sorted(f"strike:valid-{n}" for n in range(nights))
    assert late == 0
    assert big is not None
    (cut,) = [letter for letter in letters if letter.value_size == len(big)]
    assert cut.truncated and cut.value == big[:len(cut.value)] and cut.value_sha256 == hashlib.sha256(big).hexdigest()
    growth = rss_mb(worker.pid) - before
    print(f"\nfuzz seed={seed}: {count} hostile, {nights} valid; worker RSS +{growth:.0f} MB")
    assert growth <= 50, f"worker memory grew by {growth:.0f} MB"


def test_a_seeded_hostile_burst_is_all_dead_lettered_and_every_valid_report_alerts(
    salvo_settings: SalvoSettings, start_worker: StartWorker
) -> None:
    run_fuzz(salvo_settings, start_worker, seed=11, count=300, every=30)


@pytest.mark.chaos
@pytest.mark.parametrize("seed", [1, 2])
def test_ten_thousand_hostile_messages(
    seed: int, salvo_settings: SalvoSettings, start_worker: StartWorker
) -> None:
    run_fuzz(salvo_settings, start_worker, seed=seed, count=10_000, every=500)
