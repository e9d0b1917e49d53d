"""`salvo connect`'s RSS/Atom poller against a real local feed server and the real broker: conditional GET,
dedup across restarts, and recovery from a server that goes down, answers 500 or sends malformed XML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from schemas import NewsItem
from streams import topics
from streams.feeds.config import Sources
from streams.feeds.poll import FeedMetrics
from streams.feeds.rss import Feed, FeedPoller
from streams.producer import FeedProducer
from streams.settings import SalvoSettings
from tests.streams.sourceserver import SourceServer, items_on

FEED_XML = (Path(__file__).parent / "testdata" / "guardian_2022-03-13.rss").read_text(encoding="utf-8")
pytestmark = pytest.mark.broker


@pytest.fixture
def feed_server() -> Iterator[SourceServer]:
    server = SourceServer(FEED_XML, content_type="application/rss+xml", path="/feed.rss")
    yield server
    server.stop()


def items_on_news_raw(settings: SalvoSettings, expect: int) -> list[NewsItem]:
    return items_on(settings, topics.NEWS_RAW, NewsItem, expect)


def poller(feed_server: SourceServer, settings: SalvoSettings, state: Path, producer: FeedProducer,
           client: httpx.Client, registry: CollectorRegistry) -> FeedPoller:
    return FeedPoller(Feed(name="guardian", url=feed_server.url, interval=60, lang="en"), state_dir=state,
                      client=client, publish=producer.publish, metrics=FeedMetrics(registry))


def test_new_entries_once_across_a_restart_with_conditional_get(
    feed_server: SourceServer, salvo_settings: SalvoSettings, tmp_path: Path
) -> None:
    with FeedProducer(salvo_settings) as producer, httpx.Client() as client:
        first = poller(feed_server, salvo_settings, tmp_path, producer, client, CollectorRegistry())
        assert first.poll() == 12
        assert first.poll() == 0 and feed_server.requests[-1].get("If-None-Match")  # 304: nothing parsed
        # a new entry, and a restart: a fresh poller on the same state directory
        feed_server.body = FEED_XML.replace("<item>", "<item><title>Talks open in Geneva</title>"
                                            "<link>https://example.org/geneva</link><guid>geneva-1</guid>"
                                            "</item><item>", 1)
        again = poller(feed_server, salvo_settings, tmp_path, producer, client, CollectorRegistry())
        assert again.poll() == 1
    items = items_on_news_raw(salvo_settings, 13)
    assert len(items) == 13 and len({i.id for i in items}) == 13
    guardian = next(i for i in items if i.title.startswith("Biden adviser rejects"))
    assert str(guardian.url).startswith("https://www.theguardian.com/") and guardian.lang == "en"
    assert guardian.published_at.isoformat() == "2022-03-13T19:08:00+00:00"


def test_a_server_down_500_or_malformed_loses_and_repeats_nothing(
    feed_server: SourceServer, salvo_settings: SalvoSettings, tmp_path: Path
) -> None:
    registry = CollectorRegistry()
    with FeedProducer(salvo_settings) as producer, httpx.Client() as client:
        feed = poller(feed_server, salvo_settings, tmp_path, producer, client, registry)
        feed_server.status = 500
        assert feed.poll() == 0 and feed.wait() == 120  # backoff: twice the interval
        feed_server.status, feed_server.body = 200, "<rss><channel><item><title>broken"
        assert feed.poll() == 0 and feed.wait() == 240
        feed_server.stop()
        assert feed.poll() == 0 and feed.wait() == 480
        feed_server.start()
        feed_server.body = FEED_XML
        assert feed.poll() == 12 and feed.wait() == 60  # back to the interval
        assert feed.poll() == 0
    errors = {reason: registry.get_sample_value("salvo_feed_errors_total", {"feed": "guardian", "reason": reason})
              for reason in ("http", "malformed", "unreachable")}
    assert errors == {"http": 1.0, "malformed": 1.0, "unreachable": 1.0}
    assert len(items_on_news_raw(salvo_settings, 12)) == 12


def test_the_sources_file_is_strict(tmp_path: Path) -> None:
    good = tmp_path / "sources.yaml"
    good.write_text("feeds:\n  - {name: guardian, url: 'https://www.theguardian.com/world/ukraine/rss', "
                    "interval: 5m, lang: en}\n", encoding="utf-8")
    assert Sources.load(good).feeds[0].interval == 300
    bad = tmp_path / "bad.yaml"
    bad.write_text("feeds:\n  - {name: guardian, url: 'not a url', intervall: 5m}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="intervall"):
        Sources.load(bad)


def test_salvo_connect_once_from_a_sources_file(feed_server: SourceServer, salvo_settings: SalvoSettings,
                                                tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from streams.cli import _register, app

    sources = tmp_path / "sources.yaml"
    sources.write_text(f"feeds:\n  - {{name: guardian, url: '{feed_server.url}', interval: 5m, lang: en}}\n",
                       encoding="utf-8")
    _register()
    env = {"SALVO_BOOTSTRAP_SERVERS": salvo_settings.bootstrap_servers,
           "SALVO_TOPIC_PREFIX": salvo_settings.topic_prefix}
    args = ["connect", "--sources", str(sources), "--state-dir", str(tmp_path / "state"), "--port", "0", "--once"]
    first = CliRunner().invoke(app, args, env=env)
    again = CliRunner().invoke(app, args, env=env)
    assert (first.exit_code, again.exit_code) == (0, 0), first.output
    assert "guardian: 12 new" in first.output and "guardian: 0 new" in again.output
    assert len(items_on_news_raw(salvo_settings, 12)) == 12
