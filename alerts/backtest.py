"""The backtest: historical feed files through the same pure rule core as the live worker, without Kafka.

Events reach the engine in `streams.sources.read_feeds` order (event time, file, id), the order `salvo replay`
sends to Kafka, so the worker sees what the backtest sees.
`ingested_at` is the event time, never the wall clock, so a backtest is reproducible byte for byte.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from alerts.engine import DEFAULT_LATENESS, RuleEngine
from alerts.rules import RuleSet
from schemas import AirRaidAlert, Alert, ClassifiedEvent, NewsItem, StrikeReport
from streams.plausible import DEFAULT_BOUNDS, TimeBounds
from streams.sources import FileRejection, read_feeds

NewsClassifier = Callable[[NewsItem], ClassifiedEvent]


@dataclass(frozen=True)
class Lead:
    """A night incident's first alert against its first count (the strike summary that gave it)."""

    alert_id: str
    first_alert: datetime
    first_count: datetime
    weapons: int
    early: bool
    """Whether an air-raid wave opened it before any count."""

    @property
    def hours(self) -> float:
        """How many hours the first alert came before the first count."""
        return (self.first_count - self.first_alert).total_seconds() / 3600


@dataclass
class BacktestResult:
    """What a backtest found: every alert version in order, and what it could not use."""

    alerts: list[Alert] = field(default_factory=list)
    events: int = 0
    duplicates: int = 0
    late: list[ClassifiedEvent] = field(default_factory=list)
    rejected: list[FileRejection] = field(default_factory=list)
    left_out: dict[tuple[str, str], int] = field(default_factory=dict)
    """Reports each rule left out, by (rule, reason) (`RuleEngine.left_out`)."""
    emitted: list[datetime] = field(default_factory=list)
    """The event time at which each of `alerts` was made: what a live worker would have sent it on."""

    def add(self, alerts: list[Alert], at: datetime) -> None:
        """Record alert versions made when event time reached `at`."""
        self.alerts += alerts
        self.emitted += [at] * len(alerts)

    def leads(self, rule_id: str, *, largest: int = 20) -> list[Lead]:
        """How long before its first count each of the `largest` nights of `rule_id` (by final weapons) first
        alerted: the time an early warning (an air-raid wave) bought over waiting for the strike reports."""
        versions: dict[str, list[tuple[datetime, Alert]]] = {}
        for alert, at in zip(self.alerts, self.emitted, strict=True):
            if alert.rule_id == rule_id:
                versions.setdefault(alert.id, []).append((at, alert))
        out = []
        for history in versions.values():
            counted = [at for at, a in history if a.facts.drones or a.facts.missiles]
            (first_at, first), final = history[0], history[-1][1].facts
            if counted:
                out.append(Lead(first.id, first_at, counted[0], (final.drones or 0) + (final.missiles or 0),
                                early=not (first.facts.drones or first.facts.missiles)))
        return sorted(out, key=lambda lead: -lead.weapons)[:largest]

    def summary(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(rule, severity) → (distinct alerts, alert versions); severity is each alert's highest."""
        highest: dict[str, Alert] = {}
        versions: Counter[tuple[str, str]] = Counter()
        for alert in self.alerts:
            if alert.status != "resolved":
                highest[alert.id] = alert
        for alert in self.alerts:
            versions[(alert.rule_id, highest.get(alert.id, alert).severity)] += 1
        distinct = Counter((a.rule_id, a.severity) for a in highest.values())
        return {key: (distinct[key], versions[key]) for key in sorted(versions)}


def strike_events(reports: Iterable[StrikeReport]) -> list[ClassifiedEvent]:
    """Strike reports as events, ingested at their event time (see module doc)."""
    from streams.events import strike_event

    return [strike_event(r, ingested_at=r.time_end) for r in reports]


def classify_news(item: NewsItem) -> ClassifiedEvent:
    """A news item through Salvo's classifier, ingested at its publication time."""
    from streams.classify import classify
    from streams.events import news_event

    return news_event(item, classify(item.text, lang=item.lang), ingested_at=item.published_at)


def load_events(paths: Iterable[Path], *, news: NewsClassifier = classify_news, result: BacktestResult,
                since: date | None = None, until: date | None = None, bounds: TimeBounds = DEFAULT_BOUNDS,
                now: datetime | None = None) -> list[ClassifiedEvent]:
    """Events of every file within [since, until] in the order a replay sends them (`read_feeds`); bad rows,
    and items dated where the worker would not believe them (`bounds` at `now`), go to `result.rejected` with
    file and line."""
    from streams.events import airraid_event

    feed = read_feeds(paths, since=since, until=until, bounds=bounds, now=now)
    result.rejected += feed.rejected
    events = []
    for path, line, item in feed.items:
        try:
            if isinstance(item, AirRaidAlert):
                events.append(airraid_event(item, ingested_at=item.at))
            else:
                events.append(strike_events([item])[0] if isinstance(item, StrikeReport) else news(item))
        except (ImportError, ValueError) as exc:
            result.rejected.append(FileRejection(path, line, f"classify: {exc}"))
    return events


def replay(engine: RuleEngine, events: Iterable[ClassifiedEvent], result: BacktestResult) -> None:
    """Feed events to the engine, advancing the event-time clock before each one (absence checks)."""
    last: datetime | None = None
    for event in events:
        result.add(engine.advance(event.occurred_at), event.occurred_at)
        outcome = engine.process(event)
        result.events += 1
        result.duplicates += outcome.duplicate
        if outcome.late:
            result.late.append(event)
        result.add(outcome.alerts, event.occurred_at)
        last = event.occurred_at if last is None else max(last, event.occurred_at)
    if last is not None:
        result.add(engine.advance(last), last)
    result.left_out = dict(sorted(engine.left_out.items()))


def run_backtest(paths: Iterable[Path], rules: RuleSet, *, since: date | None = None, until: date | None = None,
                 allowed_lateness: timedelta = DEFAULT_LATENESS,
                 news: NewsClassifier = classify_news, bounds: TimeBounds = DEFAULT_BOUNDS,
                 now: datetime | None = None) -> BacktestResult:
    """Run `rules` over the files; the state is a plain dict standing in for the worker's Faust table.

    `now` is the caller's clock (the CLI passes its own): the only use of it is to refuse items dated more
    than `bounds.ahead` after it, as the worker would.
    """
    result = BacktestResult()
    events = load_events(paths, news=news, result=result, since=since, until=until, bounds=bounds, now=now)
    replay(RuleEngine(rules, {}, allowed_lateness=allowed_lateness), events, result)
    return result
