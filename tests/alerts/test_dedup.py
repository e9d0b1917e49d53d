"""Exact repeats are dropped by the engine, live and in the backtest alike; changed content still counts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alerts.backtest import run_backtest
from tests.alerts.fixtures import engine, event, rules

NIGHT = rules("""
rules:
  - id: night-drones
    kind: window
    agg: sum
    fact: drones
    window: {size: 1d}
    group_by: all
    threshold: 500
    severity: critical
    message: "{value} drones"
""")


def test_a_repeat_counts_once_even_when_ingested_again_from_another_partition() -> None:
    eng = engine(NIGHT, lateness_hours=1)
    assert eng.process(event("a", 1, drones=300, origin="strikes.raw/0")).alerts == []
    again = event("a", 1, drones=300, origin="strikes.raw/3").model_copy(
        update={"ingested_at": event("a", 1).ingested_at + timedelta(hours=2)})
    outcome = eng.process(again)
    assert outcome.duplicate and outcome.alerts == []
    assert eng.process(event("b", 2, drones=250)).alerts[0].value == 550


def test_new_content_under_the_same_id_is_an_update_and_counts() -> None:
    eng = engine(NIGHT, lateness_hours=1)
    eng.process(event("a", 1, drones=300))
    outcome = eng.process(event("a", 1, drones=320))
    assert not outcome.duplicate and outcome.alerts[0].value == 620


def test_repeat_digests_are_forgotten_past_the_horizon() -> None:
    eng = engine(NIGHT, lateness_hours=0)
    eng.process(event("a", 0, drones=1))
    assert any(key.startswith("seen|") for key in eng.state)
    late = event("b", 24 * 8, drones=1)  # a week and a day later: the first hour is past the horizon
    eng.process(late)
    assert [k for k in eng.state if k.startswith("seen|")] == [f"seen|{int(late.occurred_at.timestamp())}"]


def test_the_backtest_drops_a_file_given_twice(tmp_path: Path) -> None:
    sample = Path(__file__).parent / "testdata" / "strikes_2025-07-01_2025-09-12.csv"
    once = run_backtest([sample], NIGHT)
    twice = run_backtest([sample, sample], NIGHT)
    assert twice.duplicates == once.events and once.duplicates == 0
    assert [a.model_dump_json() for a in twice.alerts] == [a.model_dump_json() for a in once.alerts]
