"""Telegram Desktop's JSON export as a source: read for replay and backtest, and watched in a folder by
`salvo connect` (on the real broker): each post once, an export still being written retried, a restart
repeating nothing. The export holds real Air Force posts (`testdata/SOURCES.md`)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from alerts.backtest import run_backtest
from alerts.rules import default_rules
from schemas import NewsItem
from streams import topics
from streams.classify import classify
from streams.feeds.poll import FeedMetrics
from streams.feeds.telegram import TelegramFolder, TelegramPoller, messages
from streams.producer import FeedProducer
from streams.settings import SalvoSettings
from streams.sources import FileRejection, read_file
from tests.streams.sourceserver import items_on

EXPORT = Path(__file__).parent / "testdata" / "telegram" / "result.json"


def test_an_export_gives_one_item_per_post_with_text_and_skips_the_rest() -> None:
    rows = list(read_file(EXPORT))
    assert len(rows) == 7 and not any(isinstance(item, FileRejection) for _, item in rows)  # the pin is no post
    number, first = rows[0]
    assert isinstance(first, NewsItem) and number == 1544
    assert (first.id, first.title, first.published_at) == (
        "telegram:1358446547:1544", "29.12.2023", datetime.fromisoformat("2023-12-29T11:01:46+00:00"))
    assert first.body.startswith("(") and "ЗНИЩЕНО" in first.body


def test_text_split_into_entities_is_joined_and_a_channel_gives_links() -> None:
    export = {"id": 7, "name": "Air Force", "messages": [
        {"id": 3, "type": "message", "date": "2024-01-02T09:28:01", "date_unixtime": "1704187681",
         "text": [{"type": "bold", "text": "ЗНИЩЕНО:"}, "\n- 35 ударних БПЛА ", {"type": "link", "text": "#kpszsu"}]},
        {"id": 4, "type": "message", "date": "2024-01-02T09:30:00", "text": "", "photo": "photos/1.jpg"}]}
    [(number, item)] = list(messages(export, channel="kpszsu", lang="uk"))
    assert isinstance(item, NewsItem)
    assert (item.title, item.body, str(item.url)) == ("ЗНИЩЕНО:", "- 35 ударних БПЛА #kpszsu",
                                                      "https://t.me/kpszsu/3")


def test_the_air_force_post_fires_the_night_from_its_counts() -> None:
    night = next(item for _, item in read_file(EXPORT) if isinstance(item, NewsItem) and item.title == "29.12.2023")
    verdict = classify(night.text)
    assert verdict.category == "attack" and (verdict.facts.missiles or 0) >= 50
    result = run_backtest([EXPORT], default_rules())
    fired = [a for a in result.alerts if a.rule_id == "attack-night" and a.status == "firing"]
    assert fired and fired[0].severity == "critical" and fired[0].starts_at.date().isoformat() == "2023-12-28"


def _poller(folder: Path, state: Path, producer: FeedProducer, now: datetime) -> TelegramPoller:
    return TelegramPoller(TelegramFolder(name="kpszsu", folder=folder, channel="kpszsu", lang="uk"),
                          state_dir=state, publish=producer.publish,
                          metrics=FeedMetrics(CollectorRegistry()), clock=now.timestamp)


@pytest.mark.broker
def test_a_watched_folder_sends_each_recent_post_once(salvo_settings: SalvoSettings, tmp_path: Path) -> None:
    folder, state = tmp_path / "exports", tmp_path / "state"
    (folder / "ChatExport_2024-01-02").mkdir(parents=True)
    shutil.copy(EXPORT, folder / "ChatExport_2024-01-02" / "result.json")
    now = datetime.fromisoformat("2024-01-02T10:00:00+00:00")
    with FeedProducer(salvo_settings) as producer:
        watcher = _poller(folder, state, producer, now)
        assert watcher.poll() == 3  # the last day's posts: the rest of the history is for salvo replay
        assert watcher.poll() == 0
        later = json.loads(EXPORT.read_text(encoding="utf-8"))
        later["messages"].append({**later["messages"][-1], "id": 9400, "date_unixtime": str(int(now.timestamp()))})
        partial = folder / "ChatExport_2024-01-02 (1)" / "result.json"
        partial.parent.mkdir()
        partial.write_text(json.dumps(later)[:500], encoding="utf-8")  # Telegram is still writing it
        assert watcher.poll() == 0 and watcher.wait() == 120
        partial.write_text(json.dumps(later), encoding="utf-8")
        again = _poller(folder, state, producer, now)  # and a restart on the same state
        assert again.poll() == 1 and again.wait() == 60
    items = items_on(salvo_settings, topics.NEWS_RAW, NewsItem, 4)
    assert sorted(int(i.id.rsplit(":", 1)[1]) for i in items) == [9265, 9288, 9331, 9400]
    assert all(i.source == "kpszsu" and str(i.url).startswith("https://t.me/kpszsu/") for i in items)
