"""Window, watermark and lateness semantics of the rule engine, with explicit times and out-of-order events."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from alerts.incidents import alert_id
from alerts.metrics import AlertMetrics
from alerts.windows import epoch
from tests.alerts.fixtures import JsonTable, at, engine, event, feed, rules

SALVO_6H = rules("""
rules:
  - id: salvo
    kind: window
    agg: sum
    fact: drones
    window: {size: 6h}
    group_by: all
    threshold: 100
    escalate: {critical: 300}
    message: "{value} drones from {window_start}"
""")


def test_tumbling_window_fires_escalates_with_an_out_of_order_event_and_resolves_when_it_closes() -> None:
    registry = CollectorRegistry()
    eng = engine(SALVO_6H, lateness_hours=1, metrics=AlertMetrics(registry, rule_ids=["salvo"]))
    alerts = feed(eng, [event("a", 1, drones=60), event("b", 5, drones=50),
                        event("c", 4.5, drones=200),  # out of order, within the 1 h allowed lateness
                        event("d", 7, drones=10)])    # watermark 6 h: the window [0 h, 6 h) closes
    assert [(a.status, a.version, a.severity, a.value) for a in alerts] == [
        ("firing", 1, "warning", 110), ("updated", 2, "critical", 310), ("resolved", 3, "critical", 310)]
    assert {a.id for a in alerts} == {alert_id("salvo", "all", epoch(at(0)))}
    assert alerts[0].title == f"110 drones from {at(0).isoformat()}"
    assert alerts[-1].starts_at == at(0) and alerts[-1].ends_at == at(6)
    assert alerts[-1].event_ids == ["a", "b", "c"]
    assert registry.get_sample_value(
        "salvo_alerts_total", {"rule": "salvo", "severity": "critical", "status": "updated"}) == 1
    assert eng.advance(at(10)) == []
    assert registry.get_sample_value("salvo_watermark_delay_seconds") == 4 * 3600  # clock 10 h, watermark 6 h
    assert registry.get_sample_value("salvo_window_state_keys") == len(eng.state)


def test_an_event_behind_the_watermark_is_late_counted_and_changes_nothing() -> None:
    registry = CollectorRegistry()
    state = JsonTable()
    eng = engine(SALVO_6H, state, lateness_hours=1, metrics=AlertMetrics(registry))
    feed(eng, [event("a", 1, drones=60), event("b", 8, drones=10)])
    before = dict(state.data)
    outcome = eng.process(event("late", 6.5, drones=500))  # watermark is 7 h
    assert outcome.late and outcome.reason is not None and outcome.alerts == []
    assert state.data == before
    assert registry.get_sample_value("salvo_late_events_total", {"reason": "behind_watermark"}) == 1
    assert eng.process(event("on-time", 7, drones=500)).alerts[0].severity == "critical"


def test_watermark_and_windows_survive_a_restart_on_the_same_table() -> None:
    state = JsonTable()
    feed(engine(SALVO_6H, state, lateness_hours=1), [event("a", 1, drones=60), event("b", 3, drones=10)])
    restarted = engine(SALVO_6H, state, lateness_hours=1)
    assert restarted.watermark == at(2)
    assert restarted.process(event("too-late", 1.5, drones=1)).late
    assert [a.value for a in feed(restarted, [event("c", 4, drones=40)])] == [110]


def test_sliding_window_per_region_is_one_episode_until_the_condition_clears() -> None:
    surge = rules("""
rules:
  - id: surge
    kind: window
    agg: count
    window: {size: 6h, step: 2h}
    group_by: region
    threshold: 3
    message: "{value} reports in {group}"
""")
    eng = engine(surge)
    alerts = feed(eng, [event("k1", 0.5, drones=5, regions=["Kyiv"]), event("o1", 0.7, drones=5, regions=["Odesa"]),
                        event("k2", 1, drones=5, regions=["Kyiv", "Odesa"]),
                        event("k3", 3, drones=5, regions=["Kyiv"])])
    assert [(a.status, a.group_key, a.title) for a in alerts] == [("firing", "Kyiv", "3 reports in Kyiv")]
    assert alerts[0].starts_at == at(-2)  # the oldest window holding all three reports
    assert feed(eng, [event("x", 5.9, drones=1, regions=["Lviv"])]) == []
    resolved = feed(eng, [event("y", 6, drones=1, regions=["Lviv"])])  # the last met window [0 h, 6 h) closes
    assert [(a.status, a.id, a.ends_at) for a in resolved] == [("resolved", alerts[0].id, at(6))]


def test_distinct_regions_over_a_night_window_and_closed_buckets_are_dropped() -> None:
    night = rules("""
rules:
  - id: night
    kind: window
    agg: distinct_regions
    window: {size: 1d, offset: 15h}
    group_by: all
    threshold: 3
    message: "{value} regions: {regions}"
""")
    state = JsonTable()
    eng = engine(night, state)
    alerts = feed(eng, [event("a", 1, drones=5, regions=["Kyiv", "Lviv"]), event("b", 2, drones=5, regions=["Kyiv"]),
                        event("c", 3, missiles=2, regions=["Odesa"])])
    assert [(a.status, a.title) for a in alerts] == [("firing", "3 regions: Kyiv, Lviv, Odesa")]
    assert alerts[0].starts_at == at(-3)  # 15:00 UTC the day the night began
    # a regions rule states regions, not the partial weapon sums of its reports (those are a night's to state)
    assert alerts[0].facts.regions_count == 3 and alerts[0].facts.drones is None and alerts[0].facts.missiles is None
    assert [a.status for a in eng.advance(at(30))] == []  # advance never moves the watermark
    feed(eng, [event("next-night", 30, drones=1, regions=["Kyiv"])])
    assert not any(k.startswith("w|night|all|") and k.endswith(str(epoch(at(-3)))) for k in state)


def test_spike_against_the_trailing_median_and_the_floor() -> None:
    spike = rules("""
rules:
  - id: spike
    kind: spike
    agg: sum
    fact: drones
    window: {size: 1d}
    group_by: all
    baseline: 3
    factor: 2
    floor: 50
    message: "{value} against {threshold}"
""")
    eng = engine(spike)
    day = 24
    history = [event("d1", -3 * day, drones=10), event("d2", -2 * day, drones=20), event("d3", -1 * day, drones=30)]
    assert feed(eng, history) == []  # each day reached 2x its (zero) median but not the floor
    alerts = feed(eng, [event("t1", 1, drones=45), event("t2", 2, drones=10), event("t3", 3, drones=100)])
    assert [(a.status, a.value, a.threshold) for a in alerts] == [("firing", 55, 50)]  # max(2 x 20, 50)


def test_absence_fires_on_the_clock_and_resolves_on_the_next_event() -> None:
    silent = rules("""
rules:
  - id: silent
    kind: absence
    group_by: source
    period: 24h
    message: "{group} silent since {window_start}"
""")
    eng = engine(silent)
    feed(eng, [event("a", 0, drones=1, source="kpszsu")])
    assert eng.advance(at(23.9)) == []
    fired = eng.advance(at(24))
    assert [(a.status, a.title) for a in fired] == [("firing", f"kpszsu silent since {at(0).isoformat()}")]
    assert fired[0].category is None and fired[0].subtypes == [], "an outage is not about the last story"
    assert eng.advance(at(48)) == []  # one alert per silence
    back = feed(eng, [event("b", 30, drones=1, source="kpszsu")])
    assert [(a.status, a.id, a.ends_at) for a in back] == [("resolved", fired[0].id, at(30))]


def test_the_slowest_partition_holds_the_watermark_until_it_is_idle() -> None:
    eng = engine(SALVO_6H, lateness_hours=1, idle_hours=6)
    feed(eng, [event("a0", 1, drones=150, origin="strikes.raw/0"), event("b0", 2, drones=1, origin="strikes.raw/1")])
    assert feed(eng, [event("a1", 7, drones=1, origin="strikes.raw/0")]) == []  # partition 1 is at 2 h
    assert eng.watermark == at(1)
    slow = eng.process(event("b1", 3, drones=200, origin="strikes.raw/1"))  # 3 h is late for partition 0 only
    assert not slow.late and [a.value for a in slow.alerts] == [351]
    closed = feed(eng, [event("a2", 10, drones=1, origin="strikes.raw/0")])  # partition 1 is now idle
    assert eng.watermark == at(9) and [a.status for a in closed] == ["resolved"]
    assert eng.process(event("b2", 4, drones=1, origin="strikes.raw/1")).late
