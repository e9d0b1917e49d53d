"""RSS and Atom feeds onto `news.raw`: `salvo connect` polls the configured feeds and produces their new entries
as `NewsItem`s with their URL.

Why: items reached the raw topics only through `salvo send` and `salvo replay`, so the desk learned of events
when someone replayed them. A connector that a desk runs must be polite to the feeds (conditional GET with
ETag / Last-Modified, backoff on errors), never send an entry twice (dedup by entry id, across restarts), and
never lose one: an entry is marked seen only after the broker acknowledged it. A crash between the
acknowledgement and the state write repeats those entries with the same item id, which the rule engine drops
as exact repeats (`alerts.dedup`). The feed server going down, answering 500 or sending malformed XML is
counted, logged and retried with exponential backoff; the items already seen are kept.

The sources file is YAML (`feeds: [{name, url, interval, lang}]`); `interval` is seconds or "5m".
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from xml.sax import SAXParseException

import feedparser
import httpx
import yaml
from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, HttpUrl

from schemas import NewsItem
from schemas.base import Lang, web_url

log = logging.getLogger(__name__)

MAX_SEEN = 5_000  # entry ids remembered per feed: far more than any feed lists at once
MAX_BACKOFF_S = 3_600.0
_TAG = re.compile(r"<[^>]+>")


def _seconds(value: Any) -> Any:
    """"5m", "30s", "1h" or a number of seconds."""
    if isinstance(value, str) and (m := re.fullmatch(r"\s*(\d+)\s*([smh])\s*", value)):
        return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
    return value


class Feed(BaseModel):
    """One configured feed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    url: HttpUrl
    interval: Annotated[float, BeforeValidator(_seconds), Field(ge=10, le=86_400)] = 300.0
    lang: Lang | None = None


class Sources(BaseModel):
    """The sources file: the feeds `salvo connect` polls."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feeds: Annotated[list[Feed], Field(min_length=1)]

    @classmethod
    def load(cls, path: Path) -> Sources:
        """Read and validate the YAML file (a duplicate name is an error: it names the state file)."""
        sources = cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        names = [feed.name for feed in sources.feeds]
        if len(set(names)) != len(names):
            raise ValueError(f"{path}: feed names must be unique: {sorted(names)}")
        return sources


@dataclass
class FeedState:
    """What a feed's poller remembers across restarts (a JSON file per feed)."""

    etag: str | None = None
    modified: str | None = None
    seen: list[str] = field(default_factory=list)
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
    """Per feed: fetches, new items, errors by kind, and the time of the last success."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.fetched = Counter("salvo_feed_fetches_total", "Feed fetches, by outcome (ok, not_modified).",
                               ["feed", "outcome"], registry=registry)
        self.new = Counter("salvo_feed_new_items_total", "New entries produced to news.raw.", ["feed"],
                           registry=registry)
        self.errors = Counter("salvo_feed_errors_total", "Failed fetches, by reason (unreachable, http, malformed).",
                              ["feed", "reason"], registry=registry)
        self.last_success = Gauge("salvo_feed_last_success_timestamp_seconds", "When the feed was last read.",
                                  ["feed"], registry=registry)


class FeedError(Exception):
    """A fetch that failed; `reason` labels the error metric."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def entry_item(feed: Feed, entry: Any, *, now: datetime) -> NewsItem | None:
    """An entry as a NewsItem (id from the entry's id, else its link, else its title), None without a title."""
    title = " ".join(_TAG.sub(" ", str(entry.get("title") or "")).split())
    if not title:
        return None
    key = str(entry.get("id") or entry.get("link") or title)
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    published = datetime(*stamp[:6], tzinfo=UTC) if stamp else now
    url = None
    try:
        url = web_url(str(entry.get("link") or ""))
    except ValueError:
        pass
    body = " ".join(_TAG.sub(" ", str(entry.get("summary") or "")).split())
    return NewsItem(id=f"rss:{feed.name}:{hashlib.sha256(key.encode()).hexdigest()[:20]}", source=feed.name,
                    url=url, published_at=min(published, now), title=title[:1000], body=body[:5000],
                    lang=feed.lang)


class Poller:
    """Polls one feed: conditional GET, parse, new entries out, state saved after they are acknowledged."""

    def __init__(self, feed: Feed, *, state_dir: Path, client: httpx.Client, publish: Callable[[list[NewsItem]], None],
                 metrics: FeedMetrics, clock: Callable[[], float] = time.time) -> None:
        self.feed = feed
        self.path = state_dir / f"{feed.name}.json"
        self.state = FeedState.load(self.path)
        self._client = client
        self._publish = publish
        self._metrics = metrics
        self._clock = clock

    def poll(self) -> int:
        """One fetch; the number of new items produced. Raises nothing: errors are counted and backed off."""
        try:
            entries = self._fetch()
        except FeedError as error:
            self.state.failures += 1
            self._metrics.errors.labels(feed=self.feed.name, reason=error.reason).inc()
            log.warning("feed %s: %s (retry in %.0f s)", self.feed.name, error, self.wait())
            self.state.save(self.path)
            return 0
        now = datetime.fromtimestamp(self._clock(), UTC)
        seen = set(self.state.seen)
        items = [item for entry in entries if (item := entry_item(self.feed, entry, now=now)) is not None]
        new = [item for item in dict((item.id, item) for item in items).values() if item.id not in seen]
        if new:
            self._publish(new)  # returns once the broker has them: only then are they seen
        self.state.seen = (self.state.seen + [item.id for item in new])[-MAX_SEEN:]
        self.state.failures = 0
        self.state.last_success = self._clock()
        self.state.save(self.path)
        self._metrics.new.labels(feed=self.feed.name).inc(len(new))
        self._metrics.last_success.labels(feed=self.feed.name).set(self.state.last_success)
        return len(new)

    def wait(self) -> float:
        """Seconds until the next poll: the interval, doubled per consecutive failure up to an hour."""
        return min(self.feed.interval * 2 ** self.state.failures, max(MAX_BACKOFF_S, self.feed.interval))

    def _fetch(self) -> list[Any]:
        headers = {"User-Agent": "salvo-connect/1"}
        if self.state.etag:
            headers["If-None-Match"] = self.state.etag
        if self.state.modified:
            headers["If-Modified-Since"] = self.state.modified
        try:
            response = self._client.get(str(self.feed.url), headers=headers, timeout=30.0)
        except httpx.HTTPError as error:
            raise FeedError("unreachable", type(error).__name__) from None
        if response.status_code == 304:
            self._metrics.fetched.labels(feed=self.feed.name, outcome="not_modified").inc()
            return []
        if response.status_code != 200:
            raise FeedError("http", f"HTTP {response.status_code}")
        parsed = feedparser.parse(response.content)
        broken = parsed.get("bozo_exception")
        if isinstance(broken, SAXParseException) or (parsed.get("bozo") and not parsed.get("entries")):
            # not well-formed: what feedparser salvages of a cut-off document may be half an entry
            raise FeedError("malformed", str(broken or "not a feed")[:200])
        self.state.etag = response.headers.get("ETag") or self.state.etag
        self.state.modified = response.headers.get("Last-Modified") or self.state.modified
        self._metrics.fetched.labels(feed=self.feed.name, outcome="ok").inc()
        return list(parsed.get("entries", []))


def run(pollers: Iterable[Poller], *, stop: Callable[[], bool], sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic) -> None:
    """Poll each feed when it is due, until `stop()`; one feed's failure never delays the others."""
    due = {poller: 0.0 for poller in pollers}
    while not stop():
        now = clock()
        for poller, at in due.items():
            if at <= now:
                poller.poll()
                due[poller] = clock() + poller.wait()
        sleep(max(0.0, min(min(due.values()) - clock(), 1.0)))
