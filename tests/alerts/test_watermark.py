"""The start-up hold of the watermark: origins that appear a little after the first are not late."""

from __future__ import annotations

from datetime import timedelta

from alerts import watermark
from alerts.engine import RuleEngine
from tests.alerts.fixtures import JsonTable, at, event, rules

RULES = rules("""
rules:
  - {id: big, kind: threshold, fact: drones, threshold: 100, severity: warning, message: "{drones}"}
""")


def _ingested(ev, seconds_after_start: float):  # type: ignore[no-untyped-def]
    """The same event, ingested `seconds_after_start` of wall clock after the first one."""
    return ev.model_copy(update={"ingested_at": at(0) + timedelta(seconds=seconds_after_start)})


def test_an_origin_first_seen_within_the_hold_is_not_late() -> None:
    engine = RuleEngine(RULES, JsonTable(), allowed_lateness=timedelta(hours=1), start_hold=timedelta(seconds=30))
    newer = _ingested(event("a", 48, origin="strikes.raw/0", drones=200), 0)
    older = _ingested(event("b", 0, origin="news.raw/1", drones=300), 5)
    assert not engine.process(newer).late
    outcome = engine.process(older)
    assert not outcome.late and [a.facts.drones for a in outcome.alerts] == [300]


def test_after_the_hold_the_slowest_origin_sets_the_mark_and_older_events_are_late() -> None:
    engine = RuleEngine(RULES, JsonTable(), allowed_lateness=timedelta(hours=1), start_hold=timedelta(seconds=30))
    engine.process(_ingested(event("a", 48, origin="strikes.raw/0", drones=200), 0))
    engine.process(_ingested(event("b", 10, origin="news.raw/1", drones=300), 5))
    assert engine.watermark is None, "no mark during the hold"
    engine.advance(at(0) + timedelta(seconds=31))
    assert engine.watermark == at(9), "the slowest origin minus lateness"
    assert engine.process(_ingested(event("c", 2, origin="news.raw/1", drones=500), 40)).late


def test_mark_never_moves_back_and_state_stays_plain_json() -> None:
    state = watermark.observe(None, "o", 1_000, seen_at=0, lateness=10, idle=3_600, hold=0)
    assert watermark.mark_of(state) == 990
    later = watermark.observe(state, "p", 500, seen_at=1, lateness=10, idle=3_600, hold=0)
    assert watermark.mark_of(later) == 990
    assert set(later) == {"origins", "start", "mark"}


NIGHTS = rules("""
rules:
  - id: night
    kind: window
    agg: sum
    fact: drones
    window: {size: 1d}
    group_by: all
    threshold: 100
    severity: warning
    message: "{value}"
""")


def test_which_alerts_fire_does_not_depend_on_when_windows_close() -> None:
    """Three nights over the threshold are three episodes, closed as they pass or all at the end."""
    reports = [event(f"n{day}", 24 * day + 2, drones=150, origin="strikes.raw/0") for day in range(3)]
    prompt = RuleEngine(NIGHTS, JsonTable(), allowed_lateness=timedelta(0), start_hold=timedelta(0))
    held = RuleEngine(NIGHTS, JsonTable(), allowed_lateness=timedelta(0), start_hold=timedelta(days=30))
    fired = {}
    for name, engine in (("prompt", prompt), ("held", held)):
        alerts = [a for r in reports for a in engine.process(r).alerts]
        fired[name] = [(a.id, a.status) for a in alerts if a.status == "firing"]
    assert len(fired["prompt"]) == 3
    assert fired["held"] == fired["prompt"]
