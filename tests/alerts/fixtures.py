"""Fixtures of the alerts tests: events with explicit event times, and rule sets from inline YAML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.rules import RuleSet, parse_rules
from schemas.event import ClassifiedEvent

T0 = datetime(2025, 9, 6, 18, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    """An explicit event time: `hours` after T0 (2025-09-06 18:00 UTC)."""
    return T0 + timedelta(hours=hours)


def event(eid: str, hours: float, *, source: str = "kpszsu", **facts: Any) -> ClassifiedEvent:
    """A strike-like event at T0+hours carrying `facts` (e.g. drones=810, regions=[...])."""
    return ClassifiedEvent.model_validate({
        "id": eid, "feed": "strikes", "source": source, "category": "attack",
        "subtypes": ["drone_strike"] if facts.get("drones") else ["missile_strike"],
        "confidence": 1.0, "lang": "en", "occurred_at": at(hours), "ingested_at": at(hours),
        "title": f"report {eid}", "facts": facts,
    })


def news(eid: str, hours: float, title: str, *, category: str = "talks", source: str = "wire",
         subtypes: list[str] | None = None) -> ClassifiedEvent:
    """A classified news event at T0+hours."""
    return ClassifiedEvent.model_validate({
        "id": eid, "feed": "news", "source": source, "category": category, "subtypes": subtypes or [],
        "confidence": 0.9, "lang": "en", "occurred_at": at(hours), "ingested_at": at(hours), "title": title,
    })


def rules(yaml_text: str) -> RuleSet:
    """A RuleSet from inline YAML (the `rules:` list only)."""
    return parse_rules(yaml_text, path="<test>")
