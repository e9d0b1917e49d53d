"""Telegram channel posts from Telegram Desktop's JSON export, for replay and as a watched folder.

Why: the Air Force posts its night summary on Telegram within minutes ("ЗНИЩЕНО: 15 крилатих ракет …"), hours
before the strike CSV has the rows. Its posts become `NewsItem`s on `news.raw`, and the classifier's
extraction reads the counts (`streams.classify.facts`), so the night's incident fires from the post.

The export ("Export chat history", format JSON) is one `result.json`: `{name, type, id, messages: [{id, type,
date, date_unixtime, text, …}]}`, where `text` is a string or a list of strings and entities (`{"type": "bold",
"text": …}`). Only `type: message` with text is read; `date_unixtime` (UTC) is the event time, and an older
export's `date` (local time of the exporting computer, no zone stated) is read as UTC. The item id is
`telegram:<channel id>:<message id>`, so a second export of the same posts repeats ids, which the rule engine
drops as exact repeats.

`salvo replay` and `salvo backtest` read an export like any feed file (`streams.sources`); `salvo connect` watches
a folder (`TelegramFolder`) where exports are saved, and sends each new post once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schemas import NewsItem
from schemas.base import Lang
from streams.feeds.poll import FeedError, Interval, Poller, Source

MAX_AGE = timedelta(hours=24)
MAX_SEEN = 5_000


class TelegramFolder(Source):
    """A folder where Telegram Desktop's exports of one channel are saved (any `*.json` below it)."""

    folder: Path
    channel: str | None = None
    """The channel's public username ("kpszsu"): the items' source, and links to https://t.me/<channel>/<id>."""
    lang: Lang | None = None
    interval: Interval = 60.0


def _text(value: Any) -> str:
    """A message's text: a string, or a list of strings and entities with a `text`."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in value
                       if isinstance(part, str | dict))
    return ""


def _posted(message: dict[str, Any]) -> datetime:
    if message.get("date_unixtime"):
        return datetime.fromtimestamp(int(message["date_unixtime"]), UTC)
    posted = datetime.fromisoformat(str(message["date"]))
    return posted if posted.tzinfo else posted.replace(tzinfo=UTC)


def messages(export: Any, *, channel: str | None = None, lang: Lang | None = None
             ) -> Iterator[tuple[int, NewsItem | str]]:
    """Each post of an export as (message id, item), or (message id, why it was refused)."""
    if not isinstance(export, dict) or not isinstance(export.get("messages"), list):
        raise ValueError("not a Telegram export: no 'messages' list")
    chat = str(export.get("id") or export.get("name") or "channel").replace(" ", "_")
    source = channel or str(export.get("name") or chat)
    for message in export["messages"]:
        if not isinstance(message, dict) or message.get("type") != "message":
            continue
        number = int(message.get("id") or 0)
        text = _text(message.get("text")).strip()
        if not text:
            continue  # a photo or a sticker without a caption
        title, _, body = text.partition("\n")
        try:
            yield number, NewsItem(
                id=f"telegram:{chat}:{number}", source=source[:256],
                url=f"https://t.me/{channel}/{number}" if channel else None, published_at=_posted(message),
                title=title.strip()[:1000] or text[:1000], body=body.strip()[:20_000], lang=lang)
        except (ValidationError, ValueError, KeyError) as error:
            yield number, f"{type(error).__name__}: {str(error).splitlines()[0]}"


def read_export(path: Path) -> Any:
    """The export's JSON; `ValueError` when the file is not JSON (an export still being written)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"invalid JSON: {error}") from None


class TelegramPoller(Poller):
    """Watches a folder of exports; a post is new when its id was not sent and it is under `MAX_AGE` old (an
    export holds the channel's whole history, which is for `salvo replay`, not for a live desk)."""

    source: TelegramFolder

    def _new(self, now: datetime) -> list[NewsItem]:
        seen = set(self.state.seen)
        found: dict[str, NewsItem] = {}
        for path in sorted(self.source.folder.rglob("*.json")):
            try:
                export = read_export(path)
                posts = list(messages(export, channel=self.source.channel, lang=self.source.lang))
            except ValueError as error:  # half-written: read it again at the next poll
                raise FeedError("malformed", f"{path.name}: {error}"[:200]) from None
            for _, item in posts:
                if isinstance(item, NewsItem) and item.id not in seen and now - item.published_at <= MAX_AGE:
                    found.setdefault(item.id, item)
        return sorted(found.values(), key=lambda item: item.published_at)

    def _sent(self, items: list[NewsItem]) -> None:
        self.state.seen = (self.state.seen + [item.id for item in items])[-MAX_SEEN:]
