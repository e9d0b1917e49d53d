"""Incidents: many reports of one strike become one alert with versions, and the deterministic alert id.

An incident is keyed by (rule, group key) and anchored at the event time of its first report; a report
within `tolerance` of the anchor (either side, so out-of-order reports merge too) joins it. A larger value
or a higher severity makes a new version (`updated`); anything else only adds the report's id.
"""

from __future__ import annotations

import hashlib
from enum import Enum
from typing import Any

from schemas.base import SEVERITY_RANK

MAX_EVENT_IDS = 256
MAX_SOURCES = 64


class Change(Enum):
    """What a report does to its incident."""

    NEW = "new"
    UPDATED = "updated"
    MERGED = "merged"
    COOLING = "cooling"


def alert_id(rule_id: str, group_key: str, anchor: int) -> str:
    """A readable, deterministic id: the rule id plus a hash of (rule, group key, window/incident start)."""
    digest = hashlib.sha256(f"{rule_id}\x1f{group_key}\x1f{anchor}".encode()).hexdigest()[:16]
    return f"{rule_id}-{digest}"


def joins(incident: dict[str, Any] | None, t: int, tolerance: int) -> bool:
    """True when a report at `t` belongs to the open incident (within `tolerance` of its anchor)."""
    return incident is not None and abs(t - incident["anchor"]) <= tolerance


def in_cooldown(last: dict[str, Any] | None, t: int, severity: str, cooldown: int) -> bool:
    """A new incident within `cooldown` of the last firing is a repeat, unless it is more severe."""
    return (
        last is not None
        and abs(t - last["at"]) < cooldown
        and SEVERITY_RANK[severity] <= SEVERITY_RANK[last["severity"]]
    )


def open_incident(*, rule_id: str, group_key: str, t: int, severity: str, value: float,
                  event: dict[str, Any]) -> dict[str, Any]:
    """The state of a new incident, from its first report (`event`: id, source, ingested, facts, title)."""
    return {
        "id": alert_id(rule_id, group_key, t), "anchor": t, "version": 1, "severity": severity,
        "value": value, "best": event, "event_ids": [event["id"]], "sources": [event["source"]],
        "first_ingested": event["ingested"],
    }


def merge(incident: dict[str, Any], *, severity: str, value: float,
          event: dict[str, Any]) -> tuple[Change, dict[str, Any]]:
    """Add a report to an incident: a new version when it raises the value or the severity."""
    out = dict(incident)
    if event["id"] not in out["event_ids"] and len(out["event_ids"]) < MAX_EVENT_IDS:
        out["event_ids"] = [*out["event_ids"], event["id"]]
    if event["source"] not in out["sources"] and len(out["sources"]) < MAX_SOURCES:
        out["sources"] = [*out["sources"], event["source"]]
    out["first_ingested"] = min(out["first_ingested"], event["ingested"])
    higher = SEVERITY_RANK[severity] > SEVERITY_RANK[incident["severity"]]
    if value > incident["value"] or higher:
        out.update(version=incident["version"] + 1, value=max(value, incident["value"]), best=event,
                   severity=severity if higher else incident["severity"])
        return Change.UPDATED, out
    return Change.MERGED, out
