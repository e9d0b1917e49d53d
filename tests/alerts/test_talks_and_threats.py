"""Talks and threats as first-class alerts: talks from the classifier's sub-types, one incident per story, and
threats only when a head of state makes them.

The figures come from committed samples of the real news (`testdata/SOURCES.md`): the diplomatic events of
`talks_events.yaml` with the item of each that the full news run alerts on, and `threat_sample.jsonl`, every
item the old keyword rule could fire on, labelled by hand. Over the whole news data (beside the team's
checkout) the same recall is measured again.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from alerts.backtest import classify_news, run_backtest
from alerts.engine import RuleEngine
from alerts.rules import MatchRule, default_rules
from schemas import Alert, ClassifiedEvent, NewsItem

TESTDATA = Path(__file__).parent / "testdata"
EVENTS: list[dict[str, Any]] = yaml.safe_load((TESTDATA / "talks_events.yaml").read_text(encoding="utf-8"))
DEMO = Path(__file__).parents[2] / "streams" / "data" / "demo" / "sample.jsonl"


def recalled(alerts: list[Alert]) -> list[str]:
    """The stories of `talks_events.yaml` that a firing talks alert tells: within a day, about the story."""
    talks = [a for a in alerts if a.rule_id == "talks-news" and a.status == "firing"]
    return [event["story"] for event in EVENTS
            if any(abs((a.starts_at.date() - event["day"]).days) <= 1 and re.search(event["title"], a.title, re.I)
                   for a in talks)]


def test_every_diplomatic_story_of_the_sample_raises_its_own_talks_incident() -> None:
    result = run_backtest([TESTDATA / "talks_stories.jsonl"], default_rules())
    assert recalled(result.alerts) == [event["story"] for event in EVENTS]
    talks = [a for a in result.alerts if a.rule_id == "talks-news"]
    assert len({a.id for a in talks}) == len(EVENTS)


def test_talks_recall_over_the_real_news(shared_data: Path) -> None:
    """9 of the 11 is the target; the keyword rule it replaced told 5 of them (13 alerts in all)."""
    result = run_backtest(sorted((shared_data / "news").glob("*")), default_rules())
    stories = recalled(result.alerts)
    print(f"\ntalks recall {len(stories)}/{len(EVENTS)}; "
          f"{sum(a.rule_id == 'talks-news' for a in result.alerts)} talks alerts")
    assert len(stories) >= 9


def _news(title: str, at: datetime, n: int) -> ClassifiedEvent:
    return classify_news(NewsItem(id=f"story-{n}", source="test", published_at=at, title=title, lang="en"))


def test_a_story_is_its_leaders_and_day_and_a_nameless_one_its_place_and_kind() -> None:
    rule = next(r for r in default_rules() if r.id == "talks-news")
    engine = RuleEngine(default_rules(), {})
    start = datetime(2024, 3, 1, 8, tzinfo=UTC)
    titles = [
        "Macron arrives in Moscow for talks with Putin",            # Macron+Putin: opens
        "Putin and Macron meet for five hours in the Kremlin",      # the same story: merges
        "Ukraine and Russia carry out a prisoner exchange mediated by the UAE",  # no leader: its kind
        "Talks on a grain corridor resume in Istanbul",             # no leader, another kind: its own
        "Macron and Putin hold a phone call",                       # a day later: a new incident
    ]
    alerts = []
    for n, title in enumerate(titles):
        at = start + timedelta(hours=2 * n) + (timedelta(days=2) if n == 4 else timedelta(0))
        alerts += engine.process(_news(title, at, n)).alerts
    firing = [a for a in alerts if a.rule_id == rule.id and a.status == "firing"]
    assert [a.group_key for a in firing] == [
        "Macron+Putin", "unnamed/ceasefire_or_exchange", "unnamed/meeting", "Macron+Putin"]


def test_the_demo_salvo_as_talks_open_in_geneva_raises_a_talks_alert_beside_the_salvo() -> None:
    result = run_backtest([DEMO], default_rules())
    firing = [a for a in result.alerts if a.status == "firing"]
    [salvo] = [a for a in firing if a.rule_id == "attack-night" and a.facts.drones == 400]
    assert (salvo.severity, salvo.facts.regions_count) == ("critical", 12)
    [talks] = [a for a in firing if a.rule_id == "talks-news" and a.starts_at.date() == date(2026, 2, 17)]
    assert "Geneva" in talks.title and talks.event_ids == salvo.event_ids


def test_head_of_state_threats_are_the_ones_they_make() -> None:
    """Precision and recall of `head-of-state-threat` on every item the old keyword rule could fire on, and the
    two more the speaker rule fires on over the whole news data.

    Target: precision ≥ 80%. Measured: 15 of 18 (83%), recall 15 of 17. The false ones are Putin's claims
    about Ukraine and nuclear weapons (2022-02-21/22), which carry the same threat cues as a threat. The
    keyword rule it replaced fired on all 76 of the keyword items, 15 of them true (20%).
    """
    rule = next(r for r in default_rules() if r.id == "head-of-state-threat")
    assert isinstance(rule, MatchRule)
    fired = truth = both = 0
    for line in (TESTDATA / "threat_sample.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        event = classify_news(NewsItem(id=item["id"], source=item["source"], lang=item["lang"], title=item["text"],
                                       published_at=datetime.fromisoformat(item["date"]).replace(tzinfo=UTC)))
        hit = rule.filters.accepts(event) and rule.matches(event)
        fired += hit
        truth += item["threat_by_head_of_state"]
        both += hit and item["threat_by_head_of_state"]
    print(f"\nhead-of-state threats: precision {both}/{fired}, recall {both}/{truth}")
    assert truth == 17 and both / fired >= 0.8 and both / truth >= 0.8
