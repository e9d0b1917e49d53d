"""A real Prometheus scrapes a real `salvo worker` on the embedded broker during a short replay, and a real
`salvo connect` reading a local RSS feed, and every expression of both dashboards and of the alert rules
answers (or is listed below as expected-empty, with why)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from streams.broker import free_port
from streams.demo import worker_env
from streams.producer import FeedProducer
from streams.settings import SalvoSettings
from tests.deploy.queries import PROMETHEUS_YML, RULES, all_queries
from tests.streams.sourceserver import SourceServer

pytestmark = pytest.mark.broker

SAMPLE = files("streams").joinpath("data/demo/sample.jsonl")
MALFORMED = b'{"id": "e2e-malformed", "title": '  # one dead letter, so that series moves too

# Alert conditions stay empty on a healthy replay; their metrics must still exist (checked for every query).
EXPECTED_EMPTY = {
    "rule/SalvoWorkerDown": "the worker is up during the test",
    "rule/SalvoDeadLettersGrowing": "one malformed message, below the threshold of ten in ten minutes",
    "rule/SalvoDeliveriesFailing": "no delivery fails in the replay",
    "rule/SalvoDeliveryDeadLetters": "no delivery is given up in the replay",
    "rule/SalvoConsumerLagGrowing": "lag stays far below 1000 records",
    "rule/SalvoFeedSilent": "needs 30 minutes of silence after a day of traffic",
    "rule/SalvoSourceFailing": "the connector's feed answers",
}
FEED = Path(__file__).parents[1] / "streams" / "testdata" / "guardian_2022-03-13.rss"


def wait_for(
    what: str, check: Callable[[], bool], timeout_s: float, log: Path | None = None,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll `check` until true; on timeout, or as soon as `process` exits, fail with the log that explains why."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and (process is None or process.poll() is None):
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
    pytest.fail(f"gave up waiting for {what} (timeout {timeout_s:.0f}s or process exited)\n{tail}")


def ok(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


@pytest.fixture
def worker(
    salvo_settings: SalvoSettings, start_worker: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> str:
    """`salvo worker` as a subprocess (the shared fixture); its base URL once `/readyz` says ready."""
    process = start_worker(salvo_settings)
    base = f"http://127.0.0.1:{salvo_settings.web_port}"
    wait_for(
        "worker /healthz and /readyz", lambda: ok(f"{base}/healthz") and ok(f"{base}/readyz"), 60,
        tmp_path / "worker-0.log", process,
    )
    return base


@contextmanager
def serving(command: list[str], ready: str, log: Path, *, env: dict[str, str] | None = None) -> Iterator[None]:
    """A server process, its output in `log`, until `ready` answers 200; stopped on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(ready, lambda: ok(ready), 30, log, process)
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def connector(salvo_settings: SalvoSettings, tmp_path: Path) -> Iterator[int]:
    """`salvo connect` on one local RSS feed (the `sources` service's job); the port of its /metrics."""
    server = SourceServer(FEED.read_text(encoding="utf-8"), content_type="application/rss+xml", path="/feed.rss")
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"feeds:\n  - {{name: guardian, url: '{server.url}', interval: 10s, lang: en}}\n")
    port = free_port()
    command = [sys.executable, "-m", "streams.cli", "connect", "--sources", str(sources), "--state-dir",
               str(tmp_path / "connect"), "--port", str(port)]
    try:
        with serving(command, f"http://127.0.0.1:{port}/healthz", tmp_path / "connect.log",
                     env=worker_env(salvo_settings)):
            yield port
    finally:
        server.stop()


@pytest.fixture
def prometheus(salvo_settings: SalvoSettings, connector: int, tmp_path: Path) -> Iterator[str]:
    """The Debian `prometheus` server with deploy/'s jobs and rules, scraping the worker and the connector every
    second."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not installed: run `make system-deps` (Debian package prometheus)")
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    jobs = {scrape["job_name"]: scrape for scrape in config["scrape_configs"]}
    job, sources = jobs["salvo-worker"], jobs["salvo-sources"]
    job.pop("dns_sd_configs")
    job["static_configs"] = [{"targets": [f"127.0.0.1:{salvo_settings.web_port}"]}]
    sources["static_configs"] = [{"targets": [f"127.0.0.1:{connector}"]}]
    config.pop("alerting")  # Alertmanager routing has its own test (test_promtool.py)
    config.update(scrape_configs=[job, sources], rule_files=[str(RULES)])
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [binary, f"--config.file={path}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
               f"--web.listen-address=127.0.0.1:{port}"]
    with serving(command, f"{base}/-/ready", tmp_path / "prometheus.log"):
        yield base


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    """Instant query; a PromQL error fails the test with Prometheus' message."""
    body = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=10).json()
    assert body["status"] == "success", f"{promql}: {body.get('error')}"
    return body["data"]["result"]


def replay(settings: SalvoSettings) -> int:
    """Produce the shipped sample of real items (sources in streams/data/SOURCES.md) and one malformed one."""
    lines = SAMPLE.read_text().splitlines()
    with FeedProducer(settings, replay="e2e") as producer:
        for line in lines:
            record = json.loads(line)
            producer.send_raw(record["topic"], json.dumps(record["value"]).encode(), key=record["value"]["id"].encode())
        producer.send_raw("news.raw", MALFORMED)
    return len(lines) + 1


def test_every_dashboard_and_rule_expression_answers_from_a_scraped_worker(
    salvo_settings: SalvoSettings, worker: str, prometheus: str
) -> None:
    sent = replay(salvo_settings)

    def consumed() -> bool:
        total = query(prometheus, "sum(salvo_messages_in_total)")
        return bool(total) and float(total[0]["value"][1]) >= sent and bool(query(prometheus, "salvo_consumer_lag"))

    wait_for(f"{sent} messages counted by Prometheus", consumed, 90)
    time.sleep(5)  # a few more scrapes, so every rate window holds several samples after the replay

    queries = all_queries()
    assert {q.where for q in queries} >= set(EXPECTED_EMPTY)
    silent = [q.where for q in queries if q.where not in EXPECTED_EMPTY and not query(prometheus, q.promql)]
    for q in queries:
        query(prometheus, q.promql)  # every expression, the expected-empty ones too, must at least parse and run
    unscraped = sorted(
        {(name, q.where) for q in queries for name in q.metrics if not query(prometheus, f"count({name})")}
    )
    assert silent == [] and unscraped == [], f"no data: {silent}; metrics never scraped: {unscraped}"

    rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    assert {rule["name"]: rule["health"] for group in rules for rule in group["rules"]} == {
        q.where.removeprefix("rule/"): "ok" for q in queries if q.where.startswith("rule/")
    }

