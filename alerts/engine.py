"""`RuleEngine`: the pure alert-rule core on event time, shared by the live Faust worker and the backtest.

State is an injected `MutableMapping[str, Any]` (live an `alerts.state.BatchState` over a Faust table, a dict
in the backtest) holding plain JSON data under string keys; every change is assigned back (`state[k] = v`),
which is how a batch knows what it changed. The engine never reads the clock: the same events in the same
order give the same alerts, byte for byte, live, replayed or backtested.

Keys: `wm` (per-origin watermark, see `alerts.watermark`), `idx|RULE` (groups holding state, and until
when), `nt|RULE|NIGHT` (a night's tally and its incident, see `alerts.nights`), `inc|RULE|GROUP` (open
incident), `cd|RULE|GROUP` (last firing, for cooldowns), `bk|RULE|GROUP` (span of
bucket starts), `w|RULE|GROUP|BUCKET` (window aggregate), `ep|RULE|GROUP` (firing window episode),
`abs|RULE|GROUP` (absence: last seen, firing alert), `air` (oblasts under air-raid alert, `alerts.waves`),
`seen|HOUR` and `seen` (digests of applied events per hour of event time and the hours kept, see `alerts.dedup`).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from alerts import dedup, incidents, nights, watermark, waves, windows
from alerts.messages import AlertDraft, number, render
from alerts.metrics import AlertMetrics
from alerts.rules import (
    AbsenceRule,
    MatchRule,
    NightRule,
    Rule,
    RuleSet,
    SpikeRule,
    ThresholdRule,
    WindowRule,
)
from schemas.alert import Alert
from schemas.base import SEVERITY_RANK
from schemas.event import ClassifiedEvent

DEFAULT_LATENESS = timedelta(hours=1)
DEFAULT_IDLE = timedelta(minutes=5)
DEFAULT_HOLD = timedelta(seconds=30)
DEFAULT_DEDUP_HORIZON = timedelta(days=7)
_WM = "wm"


class LateReason(Enum):
    """Why an event was not applied: routed to the late topic and counted, never silently dropped."""

    BEHIND_WATERMARK = "behind_watermark"


@dataclass(frozen=True)
class Outcome:
    """What one event produced: alerts to publish, `late` with its reason (send it to the late topic), or
    `duplicate` when it repeats an event already applied (count it, nothing else)."""

    alerts: list[Alert] = field(default_factory=list)
    late: bool = False
    reason: LateReason | None = None
    duplicate: bool = False


class RuleEngine:
    """Evaluates every rule of a `RuleSet` on event time over a mutable state mapping."""

    def __init__(self, rules: RuleSet, state: MutableMapping[str, Any], *,
                 allowed_lateness: timedelta = DEFAULT_LATENESS, idle_origin: timedelta = DEFAULT_IDLE,
                 start_hold: timedelta = DEFAULT_HOLD, dedup_horizon: timedelta = DEFAULT_DEDUP_HORIZON,
                 metrics: AlertMetrics | None = None) -> None:
        """:param allowed_lateness: how far behind its origin's newest event time an event may arrive and
            still count (default 1 h, as the worker setting `allowed_lateness_s`).
        :param idle_origin: an origin (partition) that delivered nothing for this long (ingest time) stops
            holding the watermark back (default 5 min).
        :param start_hold: ingest time the watermark waits after the first event, so origins that start a
            little later are not late (default 30 s; see `alerts.watermark`).
        :param dedup_horizon: how far behind the watermark (event time) an exact repeat is still recognised
            (default 7 days; older repeats are late anyway once past the allowed lateness).
        :param metrics: optional metrics; the engine counts alerts, late events and the reports its rules
            leave out into it."""
        self.rules = rules
        self.state = state
        self.lateness = int(allowed_lateness.total_seconds())
        self.idle = int(idle_origin.total_seconds())
        self.hold = int(start_hold.total_seconds())
        self.dedup_horizon = int(dedup_horizon.total_seconds())
        self.metrics = metrics
        if metrics:
            metrics.watch_state(state)
        self.nights = {rule.id: rule for rule in rules if isinstance(rule, NightRule)}
        self._waves = any(rule.waves for rule in self.nights.values())
        self.left_out: Counter[tuple[str, str]] = Counter()
        """Reports each rule left out, by (rule, reason), since this engine started (`salvo backtest` shows
        them; live, `salvo_rule_left_out_total`): a silent filter must not hide the nights it drops."""
        # the filters without their exclusions: an event they accept and the rule's filters refuse was left out
        self._relaxed = {rule.id: rule.filters.model_copy(update={"not_subtypes": []})
                         for rule in rules if rule.filters.not_subtypes}

    # -- watermark ----------------------------------------------------------------------------------
    @property
    def watermark(self) -> datetime | None:
        """The slowest active origin's newest event time minus allowed lateness; None before any event."""
        mark = self._watermark()
        return None if mark is None else windows.utc(mark)

    def _watermark(self) -> int | None:
        return watermark.mark_of(self.state.get(_WM))

    # -- public API ---------------------------------------------------------------------------------
    def process(self, event: ClassifiedEvent) -> Outcome:
        """Apply one event to every rule; an exact repeat, or an event behind the watermark, changes nothing."""
        t = windows.epoch(event.occurred_at)
        seen_key, content = dedup.bucket_key(t), dedup.digest(event)
        bucket = self.state.get(seen_key)
        if dedup.repeated(bucket, event.id, content):
            return Outcome(duplicate=True)
        mark = self._watermark()
        if mark is not None and t < mark:
            if self.metrics:
                self.metrics.late(LateReason.BEHIND_WATERMARK.value)
            return Outcome(late=True, reason=LateReason.BEHIND_WATERMARK)
        self.state[seen_key] = dedup.recorded(bucket, event.id, content)
        if bucket is None:
            self.state[dedup.INDEX] = windows.span_with(self.state.get(dedup.INDEX), dedup.hour(t))
        out: list[Alert] = []
        seen = self.state.get(_WM)
        moved = watermark.observe(seen, event.origin or "", t, seen_at=windows.epoch(event.ingested_at),
                                  lateness=self.lateness, idle=self.idle, hold=self.hold)
        out += self._moved(seen, moved, mark)
        alerted = self._air_raid(event, t) if event.feed == "airraid" and self._waves else None
        for rule in self.rules:
            if isinstance(rule, AbsenceRule):
                out += self._absence_seen(rule, event, windows.epoch(event.ingested_at))
            elif alerted is not None and isinstance(rule, NightRule):
                if rule.waves and alerted:
                    out += self._night_wave(rule, event, t, alerted)
            elif not rule.filters.accepts(event):
                relaxed = self._relaxed.get(rule.id)
                if relaxed is not None and relaxed.accepts(event):
                    excluded = sorted(set(rule.filters.not_subtypes) & set(event.subtypes))
                    self._leave_out(rule.id, f"subtype {excluded[0]}")
            else:
                if isinstance(rule, ThresholdRule | MatchRule):
                    out += self._incident(rule, event, t)
                elif isinstance(rule, NightRule):
                    out += self._night(rule, event, t)
                else:
                    out += self._window(rule, event, t)
        return Outcome(alerts=self._counted(out))

    def advance(self, now: datetime) -> list[Alert]:
        """Close what the watermark has passed and check absence rules against `now`.

        Live, a timer calls this with wall-clock `now`; the backtest with event time as it passes. Absence
        is measured in ingest time (`ingested_at`), which is the wall clock live and event time in a backtest,
        so a replay of old history is not a silent feed.
        """
        t = windows.epoch(now)
        seen = self.state.get(_WM)
        if seen is not None:
            moved = watermark.released(seen, now=t, lateness=self.lateness, idle=self.idle, hold=self.hold)
            if moved != seen:
                self.state[_WM] = moved
        mark = self._watermark()
        out = self._close(mark) if mark is not None else []
        for rule in self.rules:
            if isinstance(rule, AbsenceRule):
                out += self._absence_check(rule, t)
        if self.metrics:
            self.metrics.observe(watermark_delay=None if mark is None else t - mark)
        return self._counted(out)

    def _moved(self, seen: dict[str, Any] | None, moved: dict[str, Any], mark: int | None) -> list[Alert]:
        """Store a changed watermark state and close what a forward move passed."""
        if moved == seen:
            return []
        self.state[_WM] = moved
        new = watermark.mark_of(moved)
        return self._close(new) if new is not None and (mark is None or new > mark) else []

    # -- incidents: threshold and match rules ---------------------------------------------------------
    def _incident(self, rule: ThresholdRule | MatchRule, event: ClassifiedEvent, t: int) -> list[Alert]:
        if isinstance(rule, MatchRule):
            if not rule.matches(event):
                return []
            value, severity = 1.0, rule.severity
        else:
            found = windows.fact_value(event, rule.fact)
            value = found or 0.0
            level = rule.severity_for(value) if found is not None else None
            if level is None:
                return []
            severity = level
        tolerance = int(rule.tolerance.total_seconds())
        report = {"id": event.id, "source": event.url or event.source,
                  "ingested": windows.epoch(event.ingested_at), "event": event.model_dump(mode="json")}
        out: list[tuple[Alert, bool]] = []
        for group in windows.group_keys(event, rule.group_by):
            key = f"inc|{rule.id}|{group}"
            current = self.state.get(key)
            if incidents.joins(current, t, tolerance):
                change, updated = incidents.merge(current, severity=severity, value=value, event=report)
                self.state[key] = updated
                if change is incidents.Change.UPDATED:
                    out.append(self._incident_alert(rule, group, updated, "updated"))
                continue
            if incidents.in_cooldown(self.state.get(f"cd|{rule.id}|{group}"), t, severity,
                                     int(rule.cooldown.total_seconds())):
                continue
            opened = incidents.open_incident(rule_id=rule.id, group_key=group, t=t, severity=severity,
                                             value=value, event=report)
            opened["muted"] = self._inhibited(rule, group, t)
            self.state[key] = opened
            self.state[f"cd|{rule.id}|{group}"] = {"at": t, "severity": severity}
            self._index(rule.id, group, t + max(tolerance, int(rule.cooldown.total_seconds())))
            out.append(self._incident_alert(rule, group, opened, "firing"))
        return [alert for alert, muted in out if not muted]

    def _incident_alert(self, rule: ThresholdRule | MatchRule, group: str, inc: dict[str, Any],
                        status: str, *, ends_at: int | None = None) -> tuple[Alert, bool]:
        """The alert of an incident version, and whether a night incident mutes it."""
        best = ClassifiedEvent.model_validate(inc["best"]["event"])
        threshold = rule.threshold if isinstance(rule, ThresholdRule) else None
        return render(rule, AlertDraft(
            id=inc["id"], version=inc["version"], status=status, severity=inc["severity"], group=group,
            value=inc["value"], threshold=threshold, starts_at=inc["anchor"], ends_at=ends_at, event=best,
            facts=best.facts, event_ids=inc["event_ids"], sources=inc["sources"],
            first_ingested=inc["first_ingested"])), bool(inc.get("muted"))

    # -- nights: one incident per attack night across its reports -----------------------------------
    def _night(self, rule: NightRule, event: ClassifiedEvent, t: int) -> list[Alert]:
        """Add a report to its night's tally; the night's incident version, when one is due."""
        key, start, prior = self._night_of(rule, t)
        tally = nights.add(rule, prior, event, t, windows.epoch(event.ingested_at))
        return self._night_verdict(rule, key, start, tally, event)

    def _night_of(self, rule: NightRule, t: int) -> tuple[str, int, dict[str, Any]]:
        """The state key, start and tally of the night of `t`; a new night is indexed, so it will close."""
        size = int(rule.window.size.total_seconds())
        start = windows.window_starts(t, rule.window)[0]
        key = f"nt|{rule.id}|{start}"
        prior = self.state.get(key)
        if prior is None:
            self._index(rule.id, str(start), start + size)
        return key, start, prior or nights.new_tally(start, start + size)

    def _air_raid(self, event: ClassifiedEvent, t: int) -> list[str]:
        """Apply an air-raid alert's start or end (`alerts.waves`); the oblasts under alert at once after it."""
        active = self.state.get(waves.KEY)
        moved = waves.observe(active, event, t)
        if moved is not active:
            self.state[waves.KEY] = moved
        return waves.alerted(moved, t)

    def _night_wave(self, rule: NightRule, event: ClassifiedEvent, t: int, alerted: list[str]) -> list[Alert]:
        """Raise the night's air-raid peak to `alerted`; the night's incident version, when one is due."""
        key, start, prior = self._night_of(rule, t)
        tally = nights.wave(prior, alerted, t, windows.epoch(event.ingested_at))
        return [] if tally is None else self._night_verdict(rule, key, start, tally, event)

    def _night_verdict(self, rule: NightRule, key: str, start: int, tally: dict[str, Any],
                       event: ClassifiedEvent) -> list[Alert]:
        """Store the changed tally; fire or update its incident when a trigger is met and enough changed."""
        size = int(rule.window.size.total_seconds())
        night = nights.figures(rule, tally)

        def history(nights_before: int) -> list[nights.Figures]:
            return [nights.figures(rule, self.state.get(f"nt|{rule.id}|{start - i * size}"))
                    for i in range(1, nights_before + 1)]

        found = [m for trigger in rule.triggers if (m := nights.met(trigger, night, history)) is not None]
        fired = tally["fired"]
        status = None
        if found:
            severity = max((m.severity for m in found), key=SEVERITY_RANK.__getitem__)
            if fired is None:
                status = "firing"
                fired = {"id": incidents.alert_id(rule.id, "all", start), "version": 1, "severity": severity}
            else:
                higher = SEVERITY_RANK[severity] > SEVERITY_RANK[fired["severity"]]
                if nights.changed(rule, fired["sent"], higher, night, found):
                    status = "updated"
                    fired = {**fired, "version": fired["version"] + 1,
                             "severity": severity if higher else fired["severity"]}
        if status is not None:
            fired = {**fired, "sent": nights.sent_figures(night), "event": event.model_dump(mode="json"),
                     "met": [vars(m) for m in found]}
            tally["fired"] = fired
        self.state[key] = tally
        return [] if status is None else [self._night_alert(rule, tally, status)]

    def _night_alert(self, rule: NightRule, tally: dict[str, Any], status: str) -> Alert:
        fired = tally["fired"]
        night = nights.figures(rule, tally)
        lead = max(fired["met"], key=lambda m: (SEVERITY_RANK[m["severity"]], m["value"] / max(m["level"], 1)))
        why = "; ".join(f"{m['trigger']}: {m['value']} {m['fact']} "
                        f">= {number(m['level'])} ({m['severity']})" for m in fired["met"])
        facts = {"drones": night.drones or None, "missiles": night.missiles or None,
                 "missile_classes": night.missile_classes, "regions": night.regions[:32],
                 "regions_count": night.regions_count or None, "alerted": night.alerted or None}
        event = ClassifiedEvent.model_validate(fired["event"])
        if event.feed == "airraid":  # a wave opened the night: its alert is about an attack, as the reports are
            event = event.model_copy(update={"category": "attack"})
        reports = (f"{len(tally['event_ids'])} report(s), first at {windows.utc(tally['first_at']).isoformat()}, "
                   f"latest at {windows.utc(tally['latest_at']).isoformat()}" if tally["first_at"] is not None
                   else "no report yet")
        if night.alerted:
            reports += (f"; {night.alerted} oblasts under air-raid alert at once at "
                        f"{windows.utc(tally['alerted_at']).isoformat()} ({', '.join(tally['alerted'])})")
        return render(rule, AlertDraft(
            id=fired["id"], version=fired["version"], status=status, severity=fired["severity"], group="all",
            value=lead["value"], threshold=lead["level"], starts_at=tally["start"],
            ends_at=tally["end"] if status == "resolved" else None, event=event,
            facts=event.facts.model_validate(facts), event_ids=tally["event_ids"], sources=tally["sources"],
            first_ingested=tally["first_ingested"], window=(tally["start"], tally["end"]),
            why=f"{why}; {reports}."))

    def _inhibited(self, rule: Rule, group: str, t: int) -> bool:
        """True when a night incident named in `rule.inhibited_by` fired for the night of `t` and covers `group`
        (a region it counts, or any group of a rule that is not per region)."""
        for night_id in rule.inhibited_by:
            night_rule = self.nights[night_id]
            start = windows.window_starts(t, night_rule.window)[0]
            tally = self.state.get(f"nt|{night_id}|{start}")
            if tally is not None and tally["fired"] is not None and (
                    getattr(rule, "group_by", "all") != "region" or group in tally["regions"]):
                return True
        return False

    # -- windows: window and spike rules --------------------------------------------------------------
    def _window(self, rule: WindowRule | SpikeRule, event: ClassifiedEvent, t: int) -> list[Alert]:
        value = windows.fact_value(event, rule.fact)
        if value is None:
            return []
        size = int(rule.window.size.total_seconds())
        out = []
        for group in windows.group_keys(event, rule.group_by):
            for start in windows.window_starts(t, rule.window):
                key = f"w|{rule.id}|{group}|{start}"
                prior = self.state.get(key)
                if prior is None:
                    span = self.state.get(f"bk|{rule.id}|{group}")
                    self.state[f"bk|{rule.id}|{group}"] = windows.span_with(span, start)
                agg = windows.add_to_aggregate(prior or windows.new_aggregate(), event, value)
                self.state[key] = agg
                self._index(rule.id, group, start + max(size, int(rule.cooldown.total_seconds())))
                verdict = self._verdict(rule, group, start, agg)
                if verdict is not None:
                    out += self._episode(rule, group, start, agg, event, *verdict)
        return out

    def _verdict(self, rule: WindowRule | SpikeRule, group: str, start: int,
                 agg: dict[str, Any]) -> tuple[str, float, float] | None:
        """(severity, value, threshold) when the window meets the rule, else None."""
        value = windows.aggregate_value(agg, rule.agg)
        if isinstance(rule, WindowRule):
            if any(agg[fact] < level for fact, level in rule.require.items()):
                return None
            severity = rule.severity_for(value)
            return None if severity is None else (severity, value, rule.threshold)
        hop = int(rule.window.hop.total_seconds())
        history = [self.state.get(f"w|{rule.id}|{group}|{start - i * hop}") for i in range(1, rule.baseline + 1)]
        median = statistics.median(windows.aggregate_value(a, rule.agg) if a else 0.0 for a in history)
        threshold = max(rule.factor * median, rule.floor)
        return (rule.severity, value, threshold) if value >= threshold else None

    def _episode(self, rule: WindowRule | SpikeRule, group: str, start: int, agg: dict[str, Any],
                 event: ClassifiedEvent, severity: str, value: float, threshold: float) -> list[Alert]:
        """A met window starts or extends the group's firing episode; only a higher severity re-alerts.

        An episode is a run of met windows that overlap: a met window starting at or after the episode's end
        resolves it and starts a new one here, in event time, whether or not the watermark has closed it yet,
        so when windows close (a burst replay, a start-up hold) never changes which alerts fire.
        """
        key = f"ep|{rule.id}|{group}"
        end = start + int(rule.window.size.total_seconds())
        ep = self.state.get(key)
        out: list[Alert] = []
        if ep is not None and start >= ep["until"]:
            out += self._resolve_episode(rule, group, ep)
            ep = None
        if ep is not None:
            grown = {**ep, "until": max(ep["until"], end), "agg": agg if value > ep["value"] else ep["agg"],
                     "value": max(value, ep["value"]), "event": ep["event"]}
            higher = SEVERITY_RANK[severity] > SEVERITY_RANK[ep["severity"]]
            if higher:
                grown.update(severity=severity, version=ep["version"] + 1, event=event.model_dump(mode="json"))
            self.state[key] = grown
            return self._episode_alert(rule, group, grown, "updated") if higher else []
        if incidents.in_cooldown(self.state.get(f"cd|{rule.id}|{group}"), start, severity,
                                 int(rule.cooldown.total_seconds())):
            return out
        ep = {"id": incidents.alert_id(rule.id, group, start), "version": 1, "severity": severity,
              "start": start, "until": end, "value": value, "threshold": threshold, "agg": agg,
              "event": event.model_dump(mode="json"), "muted": self._inhibited(rule, group, windows.epoch(
                  event.occurred_at))}
        self.state[key] = ep
        self.state[f"cd|{rule.id}|{group}"] = {"at": start, "severity": severity}
        return [*out, *self._episode_alert(rule, group, ep, "firing")]

    def _resolve_episode(self, rule: WindowRule | SpikeRule, group: str, ep: dict[str, Any]) -> list[Alert]:
        """End an episode: its `resolved` version, with the state removed."""
        del self.state[f"ep|{rule.id}|{group}"]
        return self._episode_alert(rule, group, {**ep, "version": ep["version"] + 1}, "resolved")

    def _episode_alert(self, rule: WindowRule | SpikeRule, group: str, ep: dict[str, Any],
                       status: str) -> list[Alert]:
        """The episode's version, or none when a night incident mutes the episode (`inhibited_by`)."""
        if ep.get("muted"):
            return []
        agg = ep["agg"]
        event = ClassifiedEvent.model_validate(ep["event"])
        facts: dict[str, Any] = {"regions": agg["regions"][:32], "regions_count": len(agg["regions"])}
        if rule.agg in ("sum", "max") and rule.fact in ("drones", "missiles", "weapons"):
            # Weapon figures only from a rule that adds weapons up: a count of reports about one region stated
            # its reports' partial sums beside the night's own figures, and one night read two missile counts.
            facts |= {"drones": agg["drones"] or None, "missiles": agg["missiles"] or None}
        return [render(rule, AlertDraft(
            id=ep["id"], version=ep["version"], status=status, severity=ep["severity"], group=group,
            value=ep["value"], threshold=ep["threshold"], starts_at=ep["start"],
            ends_at=ep["until"] if status == "resolved" else None, event=event,
            facts=event.facts.model_validate(facts), event_ids=agg["event_ids"], sources=agg["sources"],
            first_ingested=agg["first_ingested"], window=(ep["start"], ep["until"])))]

    # -- closing: what the watermark has passed -------------------------------------------------------
    def _index(self, rule_id: str, group: str, expires: int) -> None:
        """Remember that (rule, group) holds state until `expires`, so closing never scans the table."""
        key = f"idx|{rule_id}"
        index = dict(self.state.get(key) or {})
        if index.get(group, -1) < expires:
            index[group] = expires
            self.state[key] = index

    def _close(self, mark: int) -> list[Alert]:
        """Resolve episodes whose last met window has closed; drop state nothing can touch any more."""
        out: list[Alert] = []
        for rule in self.rules:
            index = self.state.get(f"idx|{rule.id}")
            if not index:
                continue
            keep = dict(index)
            for group in sorted(index):
                out += self._close_group(rule, group, mark)
                if index[group] <= mark - self._retention(rule):
                    del keep[group]
            if keep != index:
                self.state[f"idx|{rule.id}"] = keep
        self._forget_seen(mark - self.dedup_horizon)
        return out

    def _forget_seen(self, before: int) -> None:
        """Drop the repeat digests of hours that ended `dedup_horizon` behind the watermark."""
        self._expire(dedup.INDEX, dedup.bucket_key, step=dedup.BUCKET, size=dedup.BUCKET, before=before)

    def _retention(self, rule: Rule) -> int:
        """How long past its end a bucket is kept: a spike's baseline needs its history."""
        if isinstance(rule, SpikeRule):
            return int(rule.window.hop.total_seconds()) * rule.baseline
        if isinstance(rule, NightRule):
            return int(rule.window.size.total_seconds()) * max((t.baseline or 0 for t in rule.triggers), default=0)
        return 0

    def _close_group(self, rule: Rule, group: str, mark: int) -> list[Alert]:
        out: list[Alert] = []
        if isinstance(rule, ThresholdRule | MatchRule):
            inc = self.state.get(f"inc|{rule.id}|{group}")
            end = None if inc is None else inc["anchor"] + int(rule.tolerance.total_seconds())
            if inc is not None and end is not None and end < mark:
                del self.state[f"inc|{rule.id}|{group}"]
                # Resolved with its final figures, as a night is: Alertmanager (and any subscription that asks
                # for resolved versions) learns the incident is over instead of keeping it firing for ever.
                closed = {**inc, "version": inc["version"] + 1}
                alert, muted = self._incident_alert(rule, group, closed, "resolved", ends_at=end)
                if not muted:
                    out.append(alert)
        elif isinstance(rule, WindowRule | SpikeRule):
            ep = self.state.get(f"ep|{rule.id}|{group}")
            if ep is not None and ep["until"] <= mark:
                out += self._resolve_episode(rule, group, ep)
            self._drop_buckets(rule, group, mark - self._retention(rule))
        elif isinstance(rule, NightRule):
            out += self._close_night(rule, group, mark)
        cd = self.state.get(f"cd|{rule.id}|{group}")
        if cd is not None and cd["at"] + int(rule.cooldown.total_seconds()) < mark:
            del self.state[f"cd|{rule.id}|{group}"]
        return out

    def _leave_out(self, rule_id: str, reason: str, reports: int = 1) -> None:
        self.left_out[(rule_id, reason)] += reports
        if self.metrics:
            self.metrics.leave_out(rule_id, reason, reports)

    def _close_night(self, rule: NightRule, group: str, mark: int) -> list[Alert]:
        """A night the watermark passed resolves its incident with the final figures; its tally stays while a
        later night's spike needs it as history."""
        key = f"nt|{rule.id}|{group}"
        tally = self.state.get(key)
        if tally is None or tally["end"] > mark:
            return []
        out = []
        fired = tally["fired"]
        if not tally.get("closed"):  # counted once, when the night's figures are final
            tally = {**tally, "closed": True}
            self.state[key] = tally
            for reason, reports in nights.left_out(rule, tally).items():
                self._leave_out(rule.id, reason, reports)
        if fired is not None and not fired.get("resolved"):
            tally = {**tally, "fired": {**fired, "version": fired["version"] + 1, "resolved": True}}
            self.state[key] = tally
            out.append(self._night_alert(rule, tally, "resolved"))
        if tally["end"] <= mark - self._retention(rule):
            del self.state[key]
        return out

    def _drop_buckets(self, rule: WindowRule | SpikeRule, group: str, before: int) -> None:
        """Delete buckets that ended before `before` (`bk|RULE|GROUP` is the span of starts that exist)."""
        self._expire(f"bk|{rule.id}|{group}", lambda start: f"w|{rule.id}|{group}|{start}",
                     step=int(rule.window.hop.total_seconds()), size=int(rule.window.size.total_seconds()),
                     before=before)

    def _expire(self, span_key: str, bucket_key: Callable[[int], str], *, step: int, size: int,
                before: int) -> None:
        """Delete the buckets of a span (see `windows.span_with`) that ended before `before`."""
        span = self.state.get(span_key)
        if span is None:
            return
        expired, rest = windows.span_expired(span, step=step, size=size, before=before)
        if not expired:
            return
        for start in expired:
            key = bucket_key(start)
            if key in self.state:
                del self.state[key]
        if rest is None:
            del self.state[span_key]
        else:
            self.state[span_key] = rest

    # -- absence --------------------------------------------------------------------------------------
    def _absence_seen(self, rule: AbsenceRule, event: ClassifiedEvent, t: int) -> list[Alert]:
        if not rule.filters.accepts(event):
            return []
        out = []
        for group in windows.group_keys(event, rule.group_by):
            key = f"abs|{rule.id}|{group}"
            prior = self.state.get(key)
            if prior is not None and t <= prior["last"] and prior["firing"] is None:
                continue
            if prior is not None and prior["firing"] is not None:
                out.append(self._absence_alert(rule, group, prior, "resolved", ends=t))
            self.state[key] = {"last": max(t, prior["last"]) if prior else t, "firing": None,
                               "event": event.model_dump(mode="json")}
            self._index(rule.id, group, 2**62)  # a feed once seen is watched for silence for good
        return out

    def _absence_check(self, rule: AbsenceRule, now: int) -> list[Alert]:
        out = []
        for group in sorted(self.state.get(f"idx|{rule.id}") or {}):
            key = f"abs|{rule.id}|{group}"
            seen = self.state.get(key)
            if seen is None or seen["firing"] is not None:
                continue
            if now - seen["last"] >= int(rule.period.total_seconds()):
                fired = {**seen, "firing": incidents.alert_id(rule.id, group, seen["last"])}
                self.state[key] = fired
                out.append(self._absence_alert(rule, group, fired, "firing", ends=None))
        return out

    def _absence_alert(self, rule: AbsenceRule, group: str, seen: dict[str, Any], status: str,
                       ends: int | None) -> Alert:
        event = ClassifiedEvent.model_validate(seen["event"])
        silent = int(rule.period.total_seconds())
        return render(rule, AlertDraft(
            id=seen["firing"], version=2 if status == "resolved" else 1, status=status, severity=rule.severity,
            group=group, value=silent, threshold=silent, starts_at=seen["last"], ends_at=ends, event=event,
            facts=event.facts.model_validate({}), event_ids=[event.id], sources=[event.url or event.source],
            first_ingested=None))

    def _counted(self, alerts: list[Alert]) -> list[Alert]:
        if self.metrics:
            for alert in alerts:
                self.metrics.alert(alert)
        return alerts
