"""RSS and Atom feeds onto `news.raw`: `salvo connect` polls the configured feeds and produces their new entries
as `NewsItem`s with their URL.

Why: items reached the raw topics only through `salvo send` and `salvo replay`, so the desk learned of events
when someone replayed them. A connector that a desk runs must be polite to the feeds (conditional GET with
ETag / Last-Modified, backoff on errors), never send an entry twice (dedup by entry id, across restarts), and
never lose one: an entry is marked seen only after the broker acknowledged it. A crash between the
acknowledgement and the state write repeats those entries with the same item id, which the rule engine drops
as exact repeats (`alerts.dedup`). The feed server going down, answering 500 or sending malformed XML is
counted, logged and retried with exponential backoff; the items already seen are kept (`streams.feeds.poll`).

A feed is configured in the sources file (`streams.feeds.config`) as `{name, url, interval, lang}`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any
from xml.sax import SAXParseException

import feedparser
import httpx
from pydantic import HttpUrl

from schemas import NewsItem
from schemas.base import Lang, web_url
from streams.feeds.poll import FeedError, HttpPoller, Source

MAX_SEEN = 5_000  # entry ids remembered per feed: far more than any feed lists at once
_TAG = re.compile(r"<[^>]+>")


class Feed(Source):
    """One configured RSS or Atom feed."""

    url: HttpUrl
    lang: Lang | None = None


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


class FeedPoller(HttpPoller):
    """Polls one feed; its new entries are those whose ids it has not sent."""

    source: Feed

    def _url(self) -> str:
        return str(self.source.url)

    def _items(self, response: httpx.Response, now: datetime) -> list[NewsItem]:
        parsed = feedparser.parse(response.content)
        broken = parsed.get("bozo_exception")
        if isinstance(broken, SAXParseException) or (parsed.get("bozo") and not parsed.get("entries")):
            # not well-formed: what feedparser salvages of a cut-off document may be half an entry
            raise FeedError("malformed", str(broken or "not a feed")[:200])
        seen = set(self.state.seen)
        items = [item for entry in parsed.get("entries", []) if (item := entry_item(self.source, entry, now=now))]
        return [item for item in dict((item.id, item) for item in items).values() if item.id not in seen]

    def _record(self, items: list[NewsItem]) -> None:
        self.state.seen = (self.state.seen + [item.id for item in items])[-MAX_SEEN:]
