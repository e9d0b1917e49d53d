"""Attack nights: one incident per night across every report, each source counted once, versions that matter."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from alerts.backtest import run_backtest
from alerts.metrics import AlertMetrics
from alerts.rules import default_rules
from alerts.subscriptions import Verdict, decide
from schemas import StrikeReport
from schemas.alert import Alert
from schemas.event import ClassifiedEvent, Facts
from streams.events import RECONNAISSANCE, strike_event
from tests.alerts.conftest import make_alert, make_subscription
from tests.alerts.fixtures import at, engine, event, feed, news, rules

NIGHT = """
rules:
  - id: night
    kind: night
    window: {size: 1d, offset: 15h}
    filters: {category: [attack], not_subtypes: [reconnaissance]}
    national: [kpszsu, GeneralStaff.ua]
    triggers:
      - {id: drones, fact: drones, threshold: 100, escalate: {critical: 300}}
      - {id: missiles, fact: missiles, threshold: 20, escalate: {critical: 50}}
      - {id: spike, fact: drones, threshold: 50, baseline: 3, factor: 2.0}
    step: {drones: 100, missiles: 20, regions: 4}
    message: "Night: {drones} drones, {missiles} missiles"
  - id: surge
    kind: window
    agg: count
    window: {size: 24h, step: 6h}
    group_by: region
    threshold: 2
    inhibited_by: [night]
    message: "Surge {group}"
"""


def report(eid: str, hours: float, model: str, *, source: str = "kpszsu/posts/1", **facts: Any) -> ClassifiedEvent:
    """A strike row of `model` from `source` (an account and a post)."""
    return event(eid, hours, source=source, **facts).model_copy(update={"weapon_model": model})


def nights(alerts: list[Alert]) -> list[Alert]:
    return [a for a in alerts if a.rule_id == "night"]


def test_each_source_counts_once_per_model_and_regional_rows_do_not_add_to_a_national_summary() -> None:
    eng = engine(rules(NIGHT))
    alerts = feed(eng, [
        report("a", 1, "Shahed", drones=150),                                    # the Air Force: fires
        report("b", 2, "Shahed", source="GeneralStaff.ua/posts/9", drones=140),  # the same drones again
        report("c", 3, "Unknown UAV", source="PvKPivden/posts/3", drones=40),    # regional: inside the 150
        report("d", 4, "Shahed", source="kpszsu/posts/2", drones=120),           # a second wave: adds
    ])
    assert [(a.status, a.version, a.facts.drones) for a in nights(alerts)] == [
        ("firing", 1, 150), ("updated", 2, 270)]
    assert len({a.id for a in nights(alerts)}) == 1


def test_regional_rows_add_up_on_a_night_no_national_source_reported() -> None:
    eng = engine(rules(NIGHT))
    alerts = feed(eng, [report("a", 1, "X-59", source="PvKPivden/posts/1", missiles=12),
                        report("b", 2, "X-59", source="PvKSkhid/posts/2", missiles=10)])
    [alert] = nights(alerts)
    assert alert.facts.missiles == 22 and alert.severity == "warning"


def test_a_story_without_a_model_gives_a_total_that_never_adds_to_the_rows() -> None:
    eng = engine(rules(NIGHT))
    story = news("n", 1, "400 drones overnight", category="attack").model_copy(
        update={"facts": Facts(drones=400, regions_count=12)})
    alerts = feed(eng, [story, report("a", 2, "Shahed", drones=390)])
    assert [a.facts.drones for a in nights(alerts)] == [400]  # 390 more is no news: below the step
    assert nights(alerts)[0].facts.regions_count == 12


def test_a_version_goes_out_only_for_a_higher_severity_or_a_step_and_resolves_with_the_final_figures() -> None:
    eng = engine(rules(NIGHT))
    alerts = feed(eng, [report("a", 1, "Shahed", drones=110), report("b", 2, "X-59", missiles=5),
                        report("c", 3, "Kalibr", missiles=10), report("d", 4, "Shahed", drones=200)])
    assert [(a.version, a.severity, a.facts.drones, a.facts.missiles) for a in nights(alerts)] == [
        (1, "warning", 110, None), (2, "critical", 310, 15)]
    [resolved] = nights(feed(eng, [report("next", 22, "Shahed", drones=1)]))  # the watermark passes the night
    assert (resolved.status, resolved.version, resolved.facts.drones) == ("resolved", 3, 310)
    assert resolved.ends_at == at(21)
    assert "drones: 310 drones >= 300 (critical)" in resolved.summary


def test_reconnaissance_drones_are_left_out() -> None:
    row = strike_event(StrikeReport(id="orlan", time_start=at(0), time_end=at(1), model="Orlan-10",
                                    launched=500, source="kpszsu/posts/1"), ingested_at=at(1))
    assert RECONNAISSANCE in row.subtypes
    shahed = strike_event(StrikeReport(id="s", time_start=at(0), time_end=at(1), model="Shahed-136/131",
                                       launched=500, source="kpszsu/posts/1"), ingested_at=at(1))
    assert RECONNAISSANCE not in shahed.subtypes
    assert feed(engine(rules(NIGHT)), [row]) == []


def test_what_a_night_leaves_out_is_counted_never_silent() -> None:
    """The old night rules filtered on one source and silently missed nights; what the rule leaves out now is
    counted, by reason, in `salvo_rule_left_out_total` and by `salvo backtest`."""
    registry = CollectorRegistry()
    eng = engine(rules(NIGHT), metrics=AlertMetrics(registry, rule_ids=["night", "surge"]))
    orlan = strike_event(StrikeReport(id="orlan", time_start=at(0), time_end=at(1), model="Orlan-10",
                                      launched=30, source="kpszsu/posts/1"), ingested_at=at(1))
    feed(eng, [orlan, report("a", 1, "Shahed", drones=150),
               report("c", 3, "Unknown UAV", source="PvKPivden/posts/3", drones=40),
               report("e", 3, "Unknown UAV", source="PvKSkhid/posts/4", drones=10)])
    assert eng.left_out == {("night", "subtype reconnaissance"): 1}
    feed(eng, [report("next", 22, "Shahed", drones=1)])  # the night closes: its figures are final
    assert eng.left_out[("night", "covered by national")] == 2  # the two regional rows inside the 150
    sample = registry.get_sample_value("salvo_rule_left_out_total",
                                       {"rule": "night", "reason": "covered by national"})
    assert sample == 2


def test_a_spike_is_measured_against_the_nights_before() -> None:
    eng = engine(rules(NIGHT))
    quiet = [report(f"q{i}", 1 + 24 * i, "Shahed", drones=40) for i in range(3)]
    assert nights(feed(eng, quiet)) == []
    [spike] = nights(feed(eng, [report("s", 1 + 24 * 3, "Shahed", drones=85)]))
    assert "spike: 85 drones >= 80" in spike.summary


def test_a_regional_surge_on_a_night_with_an_incident_for_its_region_is_muted() -> None:
    eng = engine(rules(NIGHT))
    alerts = feed(eng, [report("a", 1, "Shahed", drones=150, regions=["Odesa"]),
                        report("b", 2, "Shahed", drones=10, regions=["Odesa"]),
                        report("c", 3, "X-59", missiles=1, regions=["Kharkiv"]),
                        report("d", 4, "X-59", missiles=1, regions=["Kharkiv"])])
    assert {a.group_key for a in alerts if a.rule_id == "surge"} == set()  # both regions are in the night
    later = feed(eng, [report("e", 40, "X-59", missiles=1, regions=["Lviv"]),
                       report("f", 41, "X-59", missiles=1, regions=["Lviv"])])
    assert [a.group_key for a in later if a.rule_id == "surge"] == ["Lviv"]  # a night with no incident


def test_resolved_versions_reach_only_subscriptions_that_ask_for_them() -> None:
    resolved = make_alert(status="resolved", version=2)
    now = at(0)
    assert decide(make_subscription(), resolved, [], now).verdict is Verdict.RESOLVED_OFF
    assert decide(make_subscription(send_resolved=True), resolved, [], now).deliver
    manager = make_subscription(target={"type": "alertmanager", "url": "http://127.0.0.1:9093"})
    assert decide(manager, resolved, [], now).deliver  # Alertmanager needs them to end an alert
    assert decide(make_subscription(), make_alert(), [], now).deliver


def test_the_real_history_gives_about_one_message_per_attack_night(shared_data: Path) -> None:
    """The targets of the issue, on every real strike row: the missed missile nights alert, and a catch-all
    subscriber without send_resolved gets at most two messages per critical night on average."""
    result = run_backtest([shared_data / "strikes" / "missile_attacks_daily.csv"], default_rules())
    by_night: dict[date, list[Alert]] = {}
    for alert in result.alerts:
        if alert.category == "attack" and alert.status != "resolved":
            by_night.setdefault(alert.starts_at.date(), []).append(alert)
    critical = [sent for sent in by_night.values() if any(a.severity == "critical" for a in sent)]
    assert sum(map(len, critical)) / len(critical) <= 2
    # one night, one set of figures: no two alerts about a night state different weapon counts
    disagreeing = []
    for night, sent in by_night.items():
        latest = {a.id: (a.facts.drones, a.facts.missiles) for a in sent if a.facts.drones or a.facts.missiles}
        if len(set(latest.values())) > 1:
            disagreeing.append(night)
    assert disagreeing == []
    for night, missiles in ((date(2023, 2, 9), 106), (date(2022, 10, 9), 84), (date(2023, 3, 8), 81)):
        assert max(a.facts.missiles or 0 for a in by_night[night]) == missiles, night
