"""Turning a rule's verdict into an `Alert`: the message template and every field, from event data only.

Nothing here reads the clock or the host: the live worker and the backtest must build identical alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.rules import Rule
from alerts.windows import utc
from schemas.alert import Alert
from schemas.event import ClassifiedEvent, CountedFact, Facts


@dataclass(frozen=True)
class AlertDraft:
    """The rule-independent parts of one alert version, as the engine computed them (times in Unix s)."""

    id: str
    version: int
    status: str
    severity: str
    group: str
    value: float
    threshold: float | None
    starts_at: int
    ends_at: int | None
    event: ClassifiedEvent
    facts: Facts
    event_ids: list[str]
    sources: list[str]
    first_ingested: int | None
    window: tuple[int, int] | None = None
    why: str | None = None
    """The summary, when the rule explains itself (a night incident lists the triggers it met)."""


def number(value: float | None) -> str:
    """Integers without ".0", so "810 drones" rather than "810.0 drones"; unknown as "?"."""
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def figures_text(facts: Facts) -> str:
    """The figures a reader wants, leaving out what is unknown: "810 drones, 13 missiles, 9 regions (Kyiv, …)"
    rather than "? drones, 50 missiles, ? regions (unknown regions)"; a night opened by an air-raid wave adds
    "air-raid alert in 15 oblasts at once"."""
    parts = [f"{number(value)} {name}" for name in ("drones", "missiles") if (value := getattr(facts, name))]
    count = max(len(facts.regions), facts.regions_count or 0)
    regions = f"{count} region{'s' if count != 1 else ''}"
    if facts.regions:
        parts.append(f"{regions} ({', '.join(facts.regions)})")
    elif count:
        parts.append(regions)
    if facts.alerted:
        parts.append(f"air-raid alert in {number(facts.alerted)} oblast{'s' if facts.alerted != 1 else ''} at once")
    return ", ".join(parts) or "no figures yet"


def template_context(rule: Rule, draft: AlertDraft) -> dict[str, Any]:
    """The names a message template may use (see `rules.TEMPLATE_FIELDS`)."""
    event, facts = draft.event, draft.facts
    counted = {name: number(getattr(facts, name)) for name in CountedFact.__args__}  # type: ignore[attr-defined]
    weapons = [v for v in (facts.drones, facts.missiles) if v is not None]
    start, end = draft.window or (draft.starts_at, draft.ends_at)
    return {
        **counted,
        "rule": rule.id, "severity": draft.severity, "value": number(draft.value),
        "threshold": number(draft.threshold), "group": draft.group, "source": event.source,
        "title": event.title, "regions": ", ".join(facts.regions) or "unknown regions",
        "window_start": utc(start).isoformat(), "window_end": utc(end).isoformat() if end else "",
        "count": str(len(draft.event_ids)), "weapons": number(sum(weapons)) if weapons else "?",
        "weapon_model": event.weapon_model or "", "category": event.category,
        "subtypes": ", ".join(event.subtypes), "figures": figures_text(facts),
    }


def render(rule: Rule, draft: AlertDraft) -> Alert:
    """Build the `Alert` for a draft: title from the rule's template, summary from the rule's numbers."""
    title = rule.message.format_map(template_context(rule, draft))[:512]
    threshold = "" if draft.threshold is None else f" (threshold {number(draft.threshold)})"
    summary = draft.why or (f"{rule.kind} rule {rule.id}, group {draft.group}: value {number(draft.value)}"
                            f"{threshold}; {len(draft.event_ids)} report(s).")
    # A silent feed is about the feed, not about the last story it carried: no category, so category
    # filters (a talks desk) do not receive outage alerts.
    about_event = rule.kind != "absence"
    return Alert(
        id=draft.id, version=draft.version, status=draft.status, rule_id=rule.id,  # type: ignore[arg-type]
        severity=draft.severity, title=title, summary=summary, group_key=draft.group,  # type: ignore[arg-type]
        labels={**rule.labels, "kind": rule.kind}, category=draft.event.category if about_event else None,
        subtypes=draft.event.subtypes if about_event else [], facts=draft.facts, value=draft.value,
        threshold=draft.threshold,
        starts_at=utc(draft.starts_at), ends_at=utc(draft.ends_at) if draft.ends_at is not None else None,
        event_ids=draft.event_ids[:256], sources=draft.sources[:64],
        first_ingested_at=utc(draft.first_ingested) if draft.first_ingested is not None else None,
        replay=draft.event.replay, evidence=draft.event.evidence[:8] if about_event else [],
    )
