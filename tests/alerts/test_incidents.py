"""Incidents: reports of one strike merge into one alert with versions; cooldowns stop repeats."""

from __future__ import annotations

from alerts.incidents import alert_id
from tests.alerts.fixtures import JsonTable, at, engine, event, feed, news, rules

DRONES = rules("""
rules:
  - id: drones
    kind: threshold
    fact: drones
    threshold: 100
    escalate: {critical: 300}
    tolerance: 12h
    message: "{drones} drones ({severity}) from {source}"
""")


def run(ruleset, events, state=None):
    return feed(engine(ruleset, state, lateness_hours=12), events)


def test_early_and_final_count_from_two_sources_are_one_incident_with_two_versions() -> None:
    alerts = run(DRONES, [event("early", 0, drones=120, source="PvKPivden"), event("final", 2, drones=810),
                          event("echo", 3, drones=150, source="pvkshid")])
    assert [(a.status, a.version, a.severity) for a in alerts] == [("firing", 1, "warning"),
                                                                   ("updated", 2, "critical")]
    assert len({a.id for a in alerts}) == 1
    assert alerts[0].id == alert_id("drones", "all", int(at(0).timestamp()))
    assert alerts[1].title == "810 drones (critical) from kpszsu"
    assert alerts[1].event_ids == ["early", "final"]
    assert alerts[1].value == 810 and alerts[1].threshold == 100


def test_a_report_out_of_order_within_tolerance_joins_the_incident() -> None:
    alerts = run(DRONES, [event("late-morning", 8, drones=200), event("night", 1, drones=130)])
    assert [(a.status, a.version) for a in alerts] == [("firing", 1)]


def test_the_next_night_is_a_new_incident() -> None:
    alerts = run(DRONES, [event("n1", 0, drones=120), event("n2", 24, drones=120)])
    assert [a.status for a in alerts] == ["firing", "firing"]
    assert alerts[0].id != alerts[1].id


def test_below_threshold_and_missing_facts_do_not_fire() -> None:
    assert run(DRONES, [event("small", 0, drones=99), event("missiles", 1, missiles=500)]) == []


def test_cooldown_suppresses_a_repeat_but_not_an_escalation() -> None:
    cooled = rules("""
rules:
  - id: drones
    kind: threshold
    fact: drones
    threshold: 100
    escalate: {critical: 300}
    tolerance: 1h
    cooldown: 24h
    message: "{drones}"
""")
    alerts = run(cooled, [event("a", 0, drones=120), event("b", 5, drones=130), event("c", 10, drones=400)])
    assert [(a.event_ids, a.severity) for a in alerts] == [(["a"], "warning"), (["c"], "critical")]


def test_same_input_gives_byte_identical_alerts_and_survives_a_restart() -> None:
    events = [event("a", 0, drones=120), event("b", 2, drones=810), event("c", 26, drones=300)]
    once = [a.model_dump_json() for a in run(DRONES, events)]
    state = JsonTable()
    first = run(DRONES, events[:2], state)
    restarted = run(DRONES, events[2:], state)  # a new engine over the same table
    assert once == [a.model_dump_json() for a in first + restarted]


def test_match_rule_merges_news_of_the_same_talks() -> None:
    talks = rules("""
rules:
  - id: ceasefire-talks
    kind: match
    severity: info
    filters: {category: [talks]}
    keywords: [ceasefire]
    tolerance: 6h
    message: "Talks: {title}"
""")
    alerts = run(talks, [news("n1", 0, "Delegations discuss a ceasefire"), news("n2", 1, "Ceasefire talks go on"),
                         news("n3", 2, "Talks about prisoners"), news("n4", 12, "New ceasefire round")])
    assert [(a.status, a.event_ids) for a in alerts] == [("firing", ["n1"]), ("firing", ["n4"])]
    assert alerts[0].title == "Talks: Delegations discuss a ceasefire" and alerts[0].severity == "info"


def test_an_incident_the_watermark_passed_resolves_with_its_final_figures() -> None:
    """Alertmanager keeps an alert firing until it hears otherwise: 416 of them were left firing by history."""
    alerts = run(DRONES, [event("early", 0, drones=120), event("final", 2, drones=810),
                          event("next-week", 24 * 7, drones=5)])
    assert [(a.status, a.version) for a in alerts] == [("firing", 1), ("updated", 2), ("resolved", 3)]
    resolved = alerts[-1]
    assert resolved.id == alerts[0].id and resolved.value == 810 and resolved.severity == "critical"
    assert resolved.ends_at == at(12)  # the incident's end: its anchor plus the tolerance
