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
from schemas import Alert, ClassifiedEvent, NewsItem, StrikeReport
from streams.plausible import DEFAULT_BOUNDS, TimeBounds
from streams.sources import FileRejection, read_feeds

NewsClassifier = Callable[[NewsItem], ClassifiedEvent]


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
    feed = read_feeds(paths, since=since, until=until, bounds=bounds, now=now)
    result.rejected += feed.rejected
    events = []
    for path, line, item in feed.items:
        try:
            events.append(strike_events([item])[0] if isinstance(item, StrikeReport) else news(item))
        except (ImportError, ValueError) as exc:
            result.rejected.append(FileRejection(path, line, f"classify: {exc}"))
    return events


def replay(engine: RuleEngine, events: Iterable[ClassifiedEvent], result: BacktestResult) -> None:
    """Feed events to the engine, advancing the event-time clock before each one (absence checks)."""
    last: datetime | None = None
    for event in events:
        result.alerts += engine.advance(event.occurred_at)
        outcome = engine.process(event)
        result.events += 1
        result.duplicates += outcome.duplicate
        if outcome.late:
            result.late.append(event)
        result.alerts += outcome.alerts
        last = event.occurred_at if last is None else max(last, event.occurred_at)
    if last is not None:
        result.alerts += engine.advance(last)
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
