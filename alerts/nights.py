"""Attack nights: every report of one night as one tally, with each source counted once.

A night's reports come from many places at once: the Air Force's national summary (`kpszsu`), the General
Staff's and the Commander-in-Chief's (national too), regional air commands that repeat part of the national
figures for their region, and news stories that give a total. Added up, they count the same missiles two or
three times; filtered to one source, they miss the nights only another source reported (9–10 Feb 2023: 106
missiles, all from `CinCAFU`). So a tally keeps every count by weapon model and source, and the night's
figure for a kind (drones, missiles) is:

- when a national source reported the kind that night: the sum over weapon models of the highest count any
  national source gives for the model (national sources describe the same attacks; each source's own rows
  add up, being separate waves), with regional rows left out, since the national summary covers every
  region (the night to 7 Sep 2025: the southern command's "Unknown UAV 7" is taken as inside the Air Force's 810);
- else, or when it is higher (regional rows came first), the sum of the regional sources' counts
  (regional commands cover separate regions);
- and at least the highest total that a report with no weapon model (a news story) gives, unless the story
  is about the past or its count is above the rule's `story_max` (a running total of the war).

Every figure only grows as reports arrive, so versions of the incident never contradict one another.

A night also keeps its air-raid peak: the most oblasts under alert at once (`alerts.waves`), which a trigger
on `alerted` turns into an early warning, hours before the first report.

Plain JSON data, as the rest of the engine's state (`alerts.engine`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alerts.rules import NightRule, Trigger, source_is
from schemas.event import ClassifiedEvent

MAX_REGIONS = 32
MAX_EVENT_IDS = 256
MAX_SOURCES = 64
KINDS = ("drones", "missiles")


@dataclass(frozen=True)
class Figures:
    """A night's reconciled figures."""

    drones: int
    missiles: int
    missile_classes: dict[str, int]
    regions: list[str]
    regions_count: int
    alerted: int = 0
    """The most oblasts under air-raid alert at once during the night (`alerts.waves`)."""

    def value(self, fact: str) -> int:
        """A trigger's figure: "weapons" is drones plus missiles, "regions" the regions hit, "alerted" the
        oblasts under air-raid alert at once."""
        if fact == "weapons":
            return self.drones + self.missiles
        if fact == "regions":
            return self.regions_count
        return int(getattr(self, fact))


def new_tally(start: int, end: int) -> dict[str, Any]:
    """An empty night from `start` to `end` (Unix s)."""
    return {"start": start, "end": end, "models": {}, "rows": {}, "totals": {}, "classes": {}, "regions": [],
            "regions_reported": 0, "event_ids": [], "sources": [], "first_ingested": None, "first_at": None,
            "latest_at": None, "fired": None, "alerted": [], "alerted_at": None}


def account(source: str) -> str:
    """Who reported: "kpszsu" for "kpszsu/posts/…" (each post is a report, the account is the source)."""
    return source.split("/", 1)[0]


def add(rule: NightRule, tally: dict[str, Any], event: ClassifiedEvent, t: int, ingested: int) -> dict[str, Any]:
    """The tally with one more report (a new dict: the caller assigns it back)."""
    out = {**tally, "models": dict(tally["models"]), "rows": dict(tally.get("rows", {})),
           "totals": dict(tally["totals"])}
    who = account(event.source)
    facts = event.facts
    for kind in KINDS:
        count = getattr(facts, kind)
        if count is None:
            continue
        if event.weapon_model:
            key = f"{kind}|{event.weapon_model}"
            by_source = dict(out["models"].get(key) or {})
            by_source[who] = by_source.get(who, 0) + count
            out["models"][key] = by_source
            rows = dict(out["rows"].get(key) or {})
            rows[who] = rows.get(who, 0) + 1
            out["rows"][key] = rows
            if kind == "missiles" and facts.missile_classes:
                out["classes"] = {**out["classes"], key: next(iter(facts.missile_classes))}
        elif count <= rule.story_max.get(kind, count) and not event.historical:
            key = f"{kind}|{who}"
            out["totals"][key] = max(out["totals"].get(key, 0), count)
    out["regions"] = _union(tally["regions"], facts.regions, MAX_REGIONS)
    out["regions_reported"] = max(tally["regions_reported"], facts.regions_count or 0)
    out["event_ids"] = _union(tally["event_ids"], [event.id], MAX_EVENT_IDS)
    out["sources"] = _union(tally["sources"], [event.url or event.source], MAX_SOURCES)
    out["first_ingested"] = ingested if tally["first_ingested"] is None else min(tally["first_ingested"], ingested)
    out["first_at"] = t if tally["first_at"] is None else min(tally["first_at"], t)
    out["latest_at"] = t if tally["latest_at"] is None else max(tally["latest_at"], t)
    return out


def wave(tally: dict[str, Any], oblasts: list[str], t: int, ingested: int) -> dict[str, Any] | None:
    """The tally with the night's air-raid peak raised to `oblasts` (under alert at once at `t`), or None when
    the night already saw as many: only a rising peak changes the night (and writes state)."""
    if len(oblasts) <= len(tally.get("alerted", [])):
        return None
    first = tally["first_ingested"]
    return {**tally, "alerted": oblasts[:MAX_REGIONS], "alerted_at": t,
            "first_ingested": ingested if first is None else min(first, ingested)}


def _union(kept: list[str], new: list[str], limit: int) -> list[str]:
    out = list(kept)
    for item in new:
        if item not in out and len(out) < limit:
            out.append(item)
    return out


def _national(rule: NightRule, who: str) -> bool:
    return any(source_is(who, s) for s in rule.national)


Counts = dict[str, int]  # "kind|model" -> count


def _sides(rule: NightRule, tally: dict[str, Any]) -> dict[str, tuple[Counts, Counts]]:
    """Per kind, the national and the regional counts by model (see the module doc), and which the night
    counts: the national ones when they add up to at least the regional ones (`_counts_national`)."""
    out: dict[str, tuple[Counts, Counts]] = {kind: ({}, {}) for kind in KINDS}
    for key, by_source in sorted(tally["models"].items()):
        national, regional = out[key.split("|", 1)[0]]
        counts = [n for who, n in by_source.items() if _national(rule, who)]
        if counts:
            national[key] = max(counts)
        regional[key] = sum(n for who, n in by_source.items() if not _national(rule, who))
    return out


def _counts_national(national: Counts, regional: Counts) -> bool:
    """A national summary of a kind covers every region; the higher of the two keeps figures from shrinking."""
    return sum(national.values()) >= sum(regional.values()) and sum(national.values()) > 0


def left_out(rule: NightRule, tally: dict[str, Any]) -> dict[str, int]:
    """The night's report rows its figures leave out, by reason: per kind, the regional rows when the national
    summaries were counted (`covered by national`), or the national rows when the regional ones add up to more
    (`national below regional`). See `figures`."""
    out: dict[str, int] = {}
    for national, regional in _sides(rule, tally).values():
        counted_national = _counts_national(national, regional)
        reason = "covered by national" if counted_national else "national below regional"
        rows = sum(n for key in regional for who, n in tally.get("rows", {}).get(key, {}).items()
                   if _national(rule, who) != counted_national)
        if rows:
            out[reason] = out.get(reason, 0) + rows
    return out


def figures(rule: NightRule, tally: dict[str, Any] | None) -> Figures:
    """The night's figures (see the module doc); an absent night counts zero."""
    if tally is None:
        return Figures(0, 0, {}, [], 0)
    sides = _sides(rule, tally)
    per_kind = dict.fromkeys(KINDS, 0)
    classes: dict[str, int] = {}
    for kind, (national, regional) in sides.items():
        counted = national if _counts_national(national, regional) else regional
        per_kind[kind] = sum(counted.values())
        for key, count in counted.items():
            if key in tally["classes"] and count:
                classes[tally["classes"][key]] = classes.get(tally["classes"][key], 0) + count
    for key, count in tally["totals"].items():
        kind = key.split("|", 1)[0]
        per_kind[kind] = max(per_kind[kind], count)
    regions = tally["regions"]
    return Figures(drones=int(per_kind["drones"]), missiles=int(per_kind["missiles"]),
                   missile_classes={k: int(v) for k, v in sorted(classes.items())}, regions=regions,
                   regions_count=max(len(regions), tally["regions_reported"]), alerted=len(tally.get("alerted", [])))


@dataclass(frozen=True)
class Met:
    """A trigger the night meets: at what severity, with which figure against which level."""

    trigger: str
    fact: str
    severity: str
    value: int
    level: float


def met(trigger: Trigger, night: Figures, history: Callable[[int], list[Figures]]) -> Met | None:
    """Whether the night meets `trigger`; `history(n)` gives the n nights before, for a spike, and is only
    called when the night reaches the spike's floor (reading 14 tallies per report tripled the core's cost)."""
    if any(night.value(fact) < level for fact, level in trigger.require.items()):
        return None
    value = night.value(trigger.fact)
    if trigger.baseline is not None:
        if value < trigger.threshold:
            return None
        prior = history(trigger.baseline)
        median = statistics.median(f.value(trigger.fact) for f in prior) if prior else 0.0
        level = max(trigger.threshold, trigger.factor * median)
        return Met(trigger.id, trigger.fact, trigger.severity, value, level) if value >= level else None
    severity = trigger.severity_for(value)
    if severity is None:
        return None
    return Met(trigger.id, trigger.fact, severity, value, trigger.escalate.get(severity, trigger.threshold))


def changed(rule: NightRule, sent: dict[str, Any], severity_higher: bool, night: Figures,
            found: list[Met]) -> bool:
    """Whether the night changed enough since the last version sent for a reader to get a new one. While only
    air-raid waves (`alerted`) are met, growing figures are no news: a wave alone sends one message."""
    if severity_higher:
        return True
    if all(m.fact == "alerted" for m in found):
        return False
    grown = {"drones": night.drones - sent["drones"], "missiles": night.missiles - sent["missiles"],
             "regions": night.regions_count - sent["regions"]}
    return any(grown[fact] >= step for fact, step in rule.step.items())


def sent_figures(night: Figures) -> dict[str, int]:
    """What a version told its readers, to compare the next change with."""
    return {"drones": night.drones, "missiles": night.missiles, "regions": night.regions_count}
