"""Air-raid waves: which oblasts are under alert at once, from the starts and ends of official alerts.

Why: a missile carrier's takeoff alerts the whole country within minutes, hours before the Air Force's summary
of the night (2023-12-29: 15 oblasts under alert by 02:51 UTC, the summary of 158 drones and missiles at 09:30
Kyiv time). So an attack night (`alerts.nights`) may open on a wave, at `info`, and its strike reports then
update the same incident with the counts. Waves are frequent (over 300 nights with 15 or more oblasts at once
in two years), which is why a wave alone never pages anyone: a trigger on `alerted` is info only
(`alerts.rules.Trigger`).

An oblast is under alert while any alert in it (of the oblast, a raion or a hromada) has started and not ended.
An alert whose end never arrives stops counting `MAX_ALERT_S` after its start, so one lost record cannot keep an
oblast alerted for ever. Plain JSON data under one key of the engine's state, `air`: {oblast: {alert: start}}.
"""

from __future__ import annotations

from schemas.airraid import ALL_CLEAR
from schemas.event import ClassifiedEvent

KEY = "air"
MAX_ALERT_S = 24 * 3600
MAX_ALERTS_PER_OBLAST = 512  # a hromada-level storm over one oblast must not grow the state without bound


def alert_of(event: ClassifiedEvent) -> str:
    """The alert an event starts or ends: its start and end events are "airraid:ID:start" and "airraid:ID:end"."""
    return event.id.rsplit(":", 1)[0]


def observe(active: dict[str, dict[str, int]] | None, event: ClassifiedEvent, t: int) -> dict[str, dict[str, int]]:
    """The oblasts under alert after `event` (a new dict when it changed, `active` itself when not)."""
    current = active or {}
    oblast = event.facts.regions[0] if event.facts.regions else event.source
    alert = alert_of(event)
    alerts = current.get(oblast, {})
    fresh = {a: s for a, s in alerts.items() if s > t - MAX_ALERT_S}
    if ALL_CLEAR in event.subtypes:
        fresh.pop(alert, None)
    elif len(fresh) < MAX_ALERTS_PER_OBLAST:
        fresh[alert] = min(fresh.get(alert, t), t)
    if fresh == alerts:
        return current
    out = {name: held for name, held in current.items() if name != oblast}
    if fresh:
        out[oblast] = fresh
    return out


def alerted(active: dict[str, dict[str, int]] | None, t: int) -> list[str]:
    """The oblasts under alert at `t`, sorted."""
    return sorted(name for name, alerts in (active or {}).items() if any(s > t - MAX_ALERT_S for s in alerts.values()))
