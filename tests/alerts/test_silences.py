"""Tests of alerts/silences.py and the Silence contract."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from alerts.silences import check_matchers, expire, matcher_matches, new_silence, parse_duration, silencing
from schemas.delivery import Matcher, Silence
from schemas.event import Facts
from tests.alerts.conftest import T0, make_alert


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("region=Kharkiv", False),  # the alert names Sumy too: see the spanning test
        ("region=~Kharkiv|Sumy", True),
        ("region=Lviv", False),
        ("region!=Lviv", True),
        ("status=firing", True),
        ("severity=critical", True),
        ("rule_id=~mass-.*", True),
        ("team=ops", True),
        ("team!=ops", False),
        ("subtype=ballistic", False),
    ],
)
def test_matchers(text: str, matches: bool) -> None:
    assert matcher_matches(Matcher.parse(text), make_alert()) is matches


def test_a_silence_is_bounded_and_expiring_keeps_it_visible() -> None:
    with pytest.raises(ValidationError, match="at most 30 days"):
        new_silence([Matcher.parse("region=Sumy")], duration=timedelta(days=31), comment="x", now=T0)
    with pytest.raises(ValidationError, match="unknown region"):
        Matcher.parse("region=Narnia")
    silence = new_silence([Matcher.parse("region=Sumy")], duration=timedelta(hours=2), comment="x", now=T0)
    assert silencing(make_alert(facts=Facts(regions=["Sumy"])), [silence], now=T0) == silence
    ended = expire(silence, now=T0 + timedelta(minutes=5))
    assert isinstance(ended, Silence) and not ended.active(T0 + timedelta(minutes=5))
    assert silencing(make_alert(facts=Facts(regions=["Sumy"])), [ended], now=T0 + timedelta(minutes=6)) is None


def test_a_one_region_silence_mutes_an_alert_spanning_more_regions_only_when_it_says_so() -> None:
    """The 810-drone night over nine regions must reach on-call through a Kharkiv drill's silence."""
    night = make_alert(facts=Facts(drones=810, regions=["Kharkiv", "Sumy", "Kyiv", "Odesa"]))
    kharkiv = make_alert(facts=Facts(drones=120, regions=["Kharkiv"]))
    drill = new_silence([Matcher.parse("region=Kharkiv")], duration=timedelta(hours=2), comment="drill", now=T0)
    assert silencing(kharkiv, [drill], now=T0) == drill
    assert silencing(night, [drill], now=T0) is None
    assert silencing(make_alert(facts=Facts(drones=5)), [drill], now=T0) is None, "no region: not Kharkiv's"
    wide = drill.model_copy(update={"spanning": True})
    assert silencing(night, [wide], now=T0) == wide
    assert matcher_matches(Matcher.parse("region=~Kharkiv|Sumy|Kyiv|Odesa"), night)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("regoin=Kharkiv", "'regoin': no alert has this field (did you mean 'region'?)"),
        ("severity=urgent", "no alert has this value; one of: info, warning, critical"),
        ("status!=open", "one of: firing, updated, resolved"),
        ("category=war", "one of: attack, talks, statement, other"),
        ("rule_id=~mass-(", "not a regular expression"),
        ("tem=ops", "did you mean 'team'?"),
    ],
)
def test_matchers_no_alert_can_match_are_refused_with_the_reason(text: str, problem: str) -> None:
    (found,) = check_matchers([Matcher.parse(text)], labels={"kind", "team"})
    assert problem in found


def test_known_matchers_pass_the_check() -> None:
    texts = ["region=Kharkiv", "severity!=info", "team=ops", "kind=night", "rule_id=~mass-.*", "id=a-1"]
    assert check_matchers([Matcher.parse(t) for t in texts], labels={"kind", "team"}) == []


def test_durations() -> None:
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("1d12h30m") == timedelta(days=1, hours=12, minutes=30)
    with pytest.raises(ValueError, match="2 hours"):
        parse_duration("2 hours")
    with pytest.raises(ValueError, match="expected name=value"):
        Matcher.parse("Kharkiv")
