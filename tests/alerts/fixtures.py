"""Fixtures of the alerts tests: events with explicit event times, and rule sets from inline YAML."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.engine import RuleEngine
from alerts.metrics import AlertMetrics
from alerts.rules import RuleSet, parse_rules
from schemas.alert import Alert
from schemas.event import ClassifiedEvent

T0 = datetime(2025, 9, 6, 18, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    """An explicit event time: `hours` after T0 (2025-09-06 18:00 UTC)."""
    return T0 + timedelta(hours=hours)


def event(eid: str, hours: float, *, source: str = "kpszsu", origin: str | None = None,
          **facts: Any) -> ClassifiedEvent:
    """A strike-like event at T0+hours from `origin` (a partition) carrying `facts` (drones=810, …)."""
    return ClassifiedEvent.model_validate({
        "id": eid, "feed": "strikes", "source": source, "origin": origin, "category": "attack",
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


class JsonTable(MutableMapping[str, Any]):
    """A stand-in for a Faust table: values stored as JSON, so a value changed without `state[k] = v`
    is lost exactly as it would be live, and a value that is not plain JSON data fails at once."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def __getitem__(self, key: str) -> Any:
        return json.loads(self.data[key])

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = json.dumps(value, sort_keys=True)

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def engine(ruleset: RuleSet, state: MutableMapping[str, Any] | None = None, *,
           lateness_hours: float = 0.0, idle_hours: float = 6.0, metrics: AlertMetrics | None = None) -> RuleEngine:
    """A RuleEngine over a JSON table (or the given state) with explicit lateness and idle timeout."""
    return RuleEngine(ruleset, JsonTable() if state is None else state,
                      allowed_lateness=timedelta(hours=lateness_hours), idle_origin=timedelta(hours=idle_hours),
                      metrics=metrics)


def feed(eng: RuleEngine, events: list[ClassifiedEvent]) -> list[Alert]:
    """Process events in the given order and return every alert version they produced."""
    return [a for e in events for a in eng.process(e).alerts]
