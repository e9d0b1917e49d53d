"""`salvo connect`'s alerts.in.ua poller against a local server that answers in the API's documented shape, and
the real broker: each alert's start once, its end once, across restarts and a server that fails."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from schemas.airraid import AirRaidAlert
from streams import topics
from streams.feeds.airraid import AirRaidApi, AirRaidPoller
from streams.feeds.config import Sources
from streams.feeds.poll import FeedMetrics
from streams.producer import FeedProducer
from streams.settings import SalvoSettings
from tests.streams.sourceserver import SourceServer, items_on

pytestmark = pytest.mark.broker
NOW = datetime.now(UTC).replace(microsecond=0)


def api_alert(aid: int, title: str, kind: str, *, oblast: str | None = None, raion: str | None = None,
              alert_type: str = "air_raid", started: timedelta = timedelta(minutes=10)) -> dict[str, Any]:
    """An alert as `GET /v1/alerts/active.json` lists it (the fields the official client reads)."""
    return {"id": aid, "location_title": title, "location_type": kind, "location_oblast": oblast or title,
            "location_raion": raion, "location_uid": str(aid), "alert_type": alert_type, "notes": None,
            "started_at": (NOW - started).strftime("%Y-%m-%dT%H:%M:%S.000Z"), "finished_at": None,
            "updated_at": NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "calculated": None}


KYIV = api_alert(1, "Київська область", "oblast")
KHARKIV = api_alert(2, "Чугуївська територіальна громада", "hromada", oblast="Харківська область",
                    raion="Чугуївський район")
SHELLING = api_alert(3, "Нікопольська територіальна громада", "hromada", oblast="Дніпропетровська область",
                     alert_type="artillery_shelling")
LUHANSK = api_alert(4, "Луганська область", "oblast", started=timedelta(days=900))  # permanent: left out


def body(*alerts: dict[str, Any]) -> str:
    return json.dumps({"alerts": list(alerts), "meta": {"last_updated_at": NOW.isoformat()}, "disclaimer": "…"})


@pytest.fixture
def api() -> Iterator[SourceServer]:
    server = SourceServer(body(KYIV, KHARKIV, SHELLING, LUHANSK), content_type="application/json",
                          path="/v1/alerts/active.json")
    yield server
    server.stop()


def poller(api: SourceServer, state: Path, producer: FeedProducer, client: httpx.Client,
           registry: CollectorRegistry) -> AirRaidPoller:
    return AirRaidPoller(AirRaidApi(name="alerts-in-ua", url=api.url, interval=30), token="t0ken", state_dir=state,
                         client=client, publish=producer.publish, metrics=FeedMetrics(registry), clock=time.time)


def test_each_alert_starts_once_and_ends_once_across_a_restart(
    api: SourceServer, salvo_settings: SalvoSettings, tmp_path: Path
) -> None:
    with FeedProducer(salvo_settings) as producer, httpx.Client() as client:
        first = poller(api, tmp_path, producer, client, CollectorRegistry())
        assert first.poll() == 2  # Kyiv and Kharkiv; not the shelling, not the permanent alert
        assert api.requests[-1]["Authorization"] == "Bearer t0ken"
        assert first.poll() == 0 and api.requests[-1].get("If-Modified-Since")  # 304: nothing read
        api.body = body(KHARKIV, SHELLING, LUHANSK)  # Kyiv's alert ended
        again = poller(api, tmp_path, producer, client, CollectorRegistry())  # a restart on the same state
        assert again.poll() == 1
        assert again.poll() == 0
    # keyed by alert: a start and its end share a partition, in order; partitions interleave as they like
    items = sorted(items_on(salvo_settings, topics.AIRRAID_RAW, AirRaidAlert, 3), key=lambda a: (a.id, a.ended))
    assert [(a.id, a.oblast, a.level, a.ended) for a in items] == [
        ("alerts-in-ua-1", "Київська область", "oblast", False),
        ("alerts-in-ua-1", "Київська область", "oblast", True),
        ("alerts-in-ua-2", "Харківська область", "hromada", False)]
    ended, kharkiv = items[1], items[2]
    assert (kharkiv.raion, kharkiv.hromada) == ("Чугуївський район", "Чугуївська територіальна громада")
    assert ended.started_at == NOW - timedelta(minutes=10) and ended.finished_at is not None
    assert ended.finished_at >= ended.started_at and ended.source == "alerts.in.ua"


def test_a_server_down_500_or_malformed_loses_and_repeats_nothing(
    api: SourceServer, salvo_settings: SalvoSettings, tmp_path: Path
) -> None:
    registry = CollectorRegistry()
    with FeedProducer(salvo_settings) as producer, httpx.Client() as client:
        source = poller(api, tmp_path, producer, client, registry)
        assert source.poll() == 2
        api.body = body(KHARKIV)
        api.status = 500
        assert source.poll() == 0 and source.wait() == 60
        api.status, api.body = 200, '{"alerts": [{"id": 5, "location_title": '  # cut off
        assert source.poll() == 0 and source.wait() == 120
        api.stop()
        assert source.poll() == 0 and source.wait() == 240
        api.start()
        api.body = body(KHARKIV, {"id": 6, "location_title": "Одеська область"})  # one bad alert among good
        assert source.poll() == 1 and source.wait() == 30  # Kyiv's end; the bad alert is counted, not fatal
    errors = {reason: registry.get_sample_value("salvo_feed_errors_total", {"feed": "alerts-in-ua", "reason": reason})
              for reason in ("http", "malformed", "unreachable", "invalid_alert")}
    assert errors == {"http": 1.0, "malformed": 1.0, "unreachable": 1.0, "invalid_alert": 1.0}
    items = items_on(salvo_settings, topics.AIRRAID_RAW, AirRaidAlert, 3)
    assert sorted((a.id, a.ended) for a in items) == [
        ("alerts-in-ua-1", False), ("alerts-in-ua-1", True), ("alerts-in-ua-2", False)]


def test_salvo_connect_needs_the_token_for_an_airraid_source(tmp_path: Path, salvo_settings: SalvoSettings) -> None:
    from typer.testing import CliRunner

    from streams.cli import _register, app

    sources = tmp_path / "sources.yaml"
    sources.write_text("airraid:\n  - {name: alerts-in-ua, interval: 30s}\n", encoding="utf-8")
    assert Sources.load(sources).airraid[0].url.host == "api.alerts.in.ua"
    _register()
    env = {"SALVO_BOOTSTRAP_SERVERS": salvo_settings.bootstrap_servers, "SALVO_ALERTS_IN_UA_TOKEN": ""}
    run = CliRunner().invoke(app, ["connect", "--sources", str(sources), "--port", "0", "--once"], env=env)
    assert run.exit_code == 2 and "SALVO_ALERTS_IN_UA_TOKEN" in run.output
