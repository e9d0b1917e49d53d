"""Event-time windows: which windows an event falls in, group keys, and the aggregate kept per window.

Everything here is plain data so a window's state can live in a Faust table (live) or a dict (backtest)
and survive a restart: times are Unix seconds, aggregates are dicts of numbers and sorted lists.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alerts.rules import FactName, GroupBy, WindowSpec
from schemas.event import ClassifiedEvent

MAX_KEPT_IDS = 256  # the Alert contract keeps at most 256 event ids


def epoch(t: datetime) -> int:
    """Unix seconds of an aware datetime: the time unit of all window state."""
    return int(t.timestamp())


def utc(seconds: int) -> datetime:
    """The aware UTC datetime of Unix seconds, for alert fields."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def window_starts(t: int, spec: WindowSpec) -> list[int]:
    """Starts of every window containing `t` (one when tumbling, size/step when sliding), oldest first."""
    size, hop, offset = (int(d.total_seconds()) for d in (spec.size, spec.hop, spec.offset))
    last = (t - offset) // hop * hop + offset
    return [last - i * hop for i in range(size // hop - 1, -1, -1)]


def fact_value(event: ClassifiedEvent, fact: FactName | None) -> float | None:
    """The value of a fact on an event; "weapons" is drones plus missiles; None when the event gives none."""
    facts = event.facts
    if fact is None:
        return 1.0
    if fact == "weapons":
        parts = [v for v in (facts.drones, facts.missiles) if v is not None]
        return float(sum(parts)) if parts else None
    value = getattr(facts, fact)
    return None if value is None else float(value)


def weapon_classes(event: ClassifiedEvent) -> list[str]:
    """"drone" and/or the missile classes (or plain "missile") an event reports."""
    facts = event.facts
    classes = ["drone"] if facts.drones else []
    if facts.missile_classes:
        classes += sorted(facts.missile_classes)
    elif facts.missiles:
        classes.append("missile")
    return classes


def group_keys(event: ClassifiedEvent, group_by: GroupBy) -> list[str]:
    """The group keys an event counts under: once in each region it names, none when it names no region."""
    if group_by == "all":
        return ["all"]
    if group_by == "region":
        return sorted(set(event.facts.regions))
    if group_by == "weapon_class":
        return weapon_classes(event)
    if group_by == "actors":  # one story: the leaders it names, else where it happens and what it is
        facts = event.facts
        if facts.actors:
            return ["+".join(sorted(facts.actors))]
        return [f"{(facts.places or ['unnamed'])[0]}/{(event.subtypes or ['any'])[0]}"]
    return [event.source if group_by == "source" else event.feed]


def new_aggregate() -> dict[str, Any]:
    """An empty window aggregate."""
    return {"sum": 0.0, "count": 0, "max": 0.0, "drones": 0, "missiles": 0, "regions": [], "event_ids": [],
            "sources": [], "first_ingested": None}


def add_to_aggregate(agg: dict[str, Any], event: ClassifiedEvent, value: float) -> dict[str, Any]:
    """A new aggregate with `event` counted (a copy, so the caller assigns it back to the table)."""
    out = dict(agg)
    out["sum"] = agg["sum"] + value
    out["count"] = agg["count"] + 1
    out["max"] = max(agg["max"], value)
    out["drones"] = agg["drones"] + (event.facts.drones or 0)
    out["missiles"] = agg["missiles"] + (event.facts.missiles or 0)
    out["regions"] = sorted(set(agg["regions"]) | set(event.facts.regions))
    out["event_ids"] = _bounded_add(agg["event_ids"], event.id, MAX_KEPT_IDS)
    out["sources"] = _bounded_add(agg["sources"], event.url or event.source, 64)
    ingested = epoch(event.ingested_at)
    out["first_ingested"] = ingested if agg["first_ingested"] is None else min(agg["first_ingested"], ingested)
    return out


def aggregate_value(agg: dict[str, Any], kind: str) -> float:
    """The number a rule compares: sum, count, max or the count of distinct regions."""
    if kind == "distinct_regions":
        return float(len(agg["regions"]))
    return float(agg[kind])


def span_with(span: dict[str, int] | None, start: int) -> dict[str, int]:
    """The span {first, last} of bucket starts that exist, with `start` in it (a new dict, to assign back).

    Buckets of one rule and group lie on a grid (`window_starts`), so their first and last start are all the
    state needs to find them again: a fixed-size record instead of a list that grows with every bucket.
    """
    if span is None:
        return {"first": start, "last": start}
    return {"first": min(span["first"], start), "last": max(span["last"], start)}


def span_expired(span: dict[str, int], *, step: int, size: int,
                 before: int) -> tuple[list[int], dict[str, int] | None]:
    """(starts on the grid whose bucket ended by `before`, the span left or None when nothing is left)."""
    expired = []
    start = span["first"]
    while start <= span["last"] and start + size <= before:
        expired.append(start)
        start += step
    return expired, (None if start > span["last"] else {**span, "first": start})


def _bounded_add(items: list[str], item: str, limit: int) -> list[str]:
    """Append unless present or full: bounded so one busy window cannot grow a table value without end."""
    return items if item in items or len(items) >= limit else [*items, item]
