"""Polling a source politely and losing nothing: what every `salvo connect` source shares.

A source (an RSS feed, the alerts.in.ua API) is fetched with a conditional GET (ETag / Last-Modified), its
failures are counted and backed off exponentially, and its state (what was sent, the validators, the last
success) is a JSON file written atomically after the broker acknowledged what the poll produced. So a crash
between the acknowledgement and the state write repeats items with the same ids, which the rule engine drops
as exact repeats (`alerts.dedup`), and never loses one.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 3_600.0
USER_AGENT = "salvo-connect/1"


def _seconds(value: Any) -> Any:
    """"5m", "30s", "1h" or a number of seconds."""
    if isinstance(value, str) and (m := re.fullmatch(r"\s*(\d+)\s*([smh])\s*", value)):
        return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
    return value


Interval = Annotated[float, BeforeValidator(_seconds), Field(ge=10, le=86_400)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


class Source(BaseModel):
    """What every configured source has: a name (which names its state file and metrics) and an interval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    interval: Interval = 300.0


@dataclass
class FeedState:
    """What a source's poller remembers across restarts (a JSON file per source)."""

    etag: str | None = None
    modified: str | None = None
    seen: list[str] = field(default_factory=list)
    """RSS: the entry ids already sent."""
    active: dict[str, str] = field(default_factory=dict)
    """Air-raid alerts: the alerts whose start was sent and whose end was not, as their JSON."""
    last_success: float | None = None
    failures: int = 0

    @classmethod
    def load(cls, path: Path) -> FeedState:
        return cls(**json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else cls()

    def save(self, path: Path) -> None:
        """Write atomically: a crash mid-write leaves the previous state, never half of one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.__dict__), encoding="utf-8")
        tmp.replace(path)


class FeedMetrics:
    """Per source: fetches, new items, errors by kind, and the time of the last success."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.fetched = Counter("salvo_feed_fetches_total", "Source fetches, by outcome (ok, not_modified).",
                               ["feed", "outcome"], registry=registry)
        self.new = Counter("salvo_feed_new_items_total", "New items produced to the raw topics.", ["feed"],
                           registry=registry)
        self.errors = Counter("salvo_feed_errors_total",
                              "Failed fetches, by reason (unreachable, http, malformed).", ["feed", "reason"],
                              registry=registry)
        self.last_success = Gauge("salvo_feed_last_success_timestamp_seconds", "When the source was last read.",
                                  ["feed"], registry=registry)
        self.interval = Gauge("salvo_feed_interval_seconds", "How often the source is polled when it answers: "
                              "a source not read within three intervals is failing (alert SalvoSourceFailing).",
                              ["feed"], registry=registry)


class FeedError(Exception):
    """A fetch that failed; `reason` labels the error metric."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class Poller:
    """Polls one source: new items out, state saved after they are acknowledged, failures backed off.

    A source says what is new (`_new`, None when nothing changed) and what sending it means for its state
    (`_sent`, called once the broker acknowledged it).
    """

    def __init__(self, source: Source, *, state_dir: Path, publish: Callable[[Sequence[Any]], None],
                 metrics: FeedMetrics, clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.path = state_dir / f"{source.name}.json"
        self.state = FeedState.load(self.path)
        self._publish = publish
        self._metrics = metrics
        self._clock = clock
        metrics.interval.labels(feed=source.name).set(source.interval)

    @property
    def name(self) -> str:
        return self.source.name

    def poll(self) -> int:
        """One fetch; the number of new items produced. Raises nothing: errors are counted and backed off."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        try:
            new = self._new(now)
        except FeedError as error:
            self.state.failures += 1
            self._metrics.errors.labels(feed=self.name, reason=error.reason).inc()
            log.warning("source %s: %s (retry in %.0f s)", self.name, error, self.wait())
            self.state.save(self.path)
            return 0
        if new:
            self._publish(new)  # returns once the broker has them: only then are they sent
        if new is not None:
            self._sent(new)
        self.state.failures = 0
        self.state.last_success = self._clock()
        self.state.save(self.path)
        self._metrics.new.labels(feed=self.name).inc(len(new or []))
        self._metrics.last_success.labels(feed=self.name).set(self.state.last_success)
        return len(new or [])

    def wait(self) -> float:
        """Seconds until the next poll: the interval, doubled per consecutive failure up to an hour."""
        return min(self.source.interval * 2 ** self.state.failures, max(MAX_BACKOFF_S, self.source.interval))

    def _new(self, now: datetime) -> list[Any] | None:
        """The new items, None when the source did not change; `FeedError` when it cannot be read."""
        raise NotImplementedError

    def _sent(self, items: list[Any]) -> None:
        """Record in the state that `items` (what `_new` gave) are acknowledged."""
        raise NotImplementedError


class HttpPoller(Poller):
    """A source over HTTP, fetched with a conditional GET; its validators are kept once its items are sent."""

    _response: httpx.Response | None = None

    def __init__(self, source: Source, *, client: httpx.Client, **kwargs: Any) -> None:
        super().__init__(source, **kwargs)
        self._client = client

    def _new(self, now: datetime) -> list[Any] | None:
        self._response = self._get()
        return None if self._response is None else self._items(self._response, now)

    def _sent(self, items: list[Any]) -> None:
        self._record(items)
        if self._response is not None:
            self.state.etag = self._response.headers.get("ETag") or self.state.etag
            self.state.modified = self._response.headers.get("Last-Modified") or self.state.modified

    def _url(self) -> str:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        """Headers beyond the conditional ones (a token)."""
        return {}

    def _items(self, response: httpx.Response, now: datetime) -> list[Any]:
        """The new items of a 200 response; `FeedError("malformed", …)` when it cannot be read."""
        raise NotImplementedError

    def _record(self, items: list[Any]) -> None:
        """Record in the state that `items` are acknowledged."""
        raise NotImplementedError

    def _get(self) -> httpx.Response | None:
        """The response, or None when the source did not change (304)."""
        headers = {"User-Agent": USER_AGENT, **self._headers()}
        if self.state.etag:
            headers["If-None-Match"] = self.state.etag
        if self.state.modified:
            headers["If-Modified-Since"] = self.state.modified
        try:
            response = self._client.get(self._url(), headers=headers, timeout=30.0)
        except httpx.HTTPError as error:
            raise FeedError("unreachable", type(error).__name__) from None
        if response.status_code == 304:
            self._metrics.fetched.labels(feed=self.name, outcome="not_modified").inc()
            return None
        if response.status_code != 200:
            raise FeedError("http", f"HTTP {response.status_code}")
        self._metrics.fetched.labels(feed=self.name, outcome="ok").inc()
        return response


def run(pollers: Iterable[Poller], *, stop: Callable[[], bool], sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic) -> None:
    """Poll each source when it is due, until `stop()`; one source's failure never delays the others."""
    due = {poller: 0.0 for poller in pollers}
    while not stop():
        now = clock()
        for poller, at in due.items():
            if at <= now:
                poller.poll()
                due[poller] = clock() + poller.wait()
        sleep(max(0.0, min(min(due.values()) - clock(), 1.0)))
