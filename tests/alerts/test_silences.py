"""Tests of alerts/silences.py and the Silence contract."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from alerts.silences import expire, matcher_matches, new_silence, parse_duration, silencing
from schemas.delivery import Matcher, Silence
from tests.alerts.conftest import T0, make_alert


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("region=Kharkiv", True),
        ("region=kharkiv", True),
        ("region=Lviv", False),
        ("region!=Lviv", True),
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
    assert silencing(make_alert(), [silence], now=T0) == silence
    ended = expire(silence, now=T0 + timedelta(minutes=5))
    assert isinstance(ended, Silence) and not ended.active(T0 + timedelta(minutes=5))
    assert silencing(make_alert(), [ended], now=T0 + timedelta(minutes=6)) is None


def test_durations() -> None:
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("1d12h30m") == timedelta(days=1, hours=12, minutes=30)
    with pytest.raises(ValueError, match="2 hours"):
        parse_duration("2 hours")
    with pytest.raises(ValueError, match="expected name=value"):
        Matcher.parse("Kharkiv")
