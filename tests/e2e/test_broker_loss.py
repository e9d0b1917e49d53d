"""The broker goes away and comes back (issue 11): `/readyz` follows it, the worker stays up.

`/readyz` used to answer 200 while the broker was down, because Faust's clients count as started from
their first connection on; `streams.worker.probe` now asks the broker for metadata every 2 s. This test
stops its own embedded broker under a running worker and starts it again on the same port.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from streams.broker import EmbeddedBroker, free_port, local_settings
from streams.settings import SalvoSettings
from streams.topics import create_topics
from tests.conftest import StartWorker


def readyz(settings: SalvoSettings) -> int | None:
    try:
        return httpx.get(f"http://127.0.0.1:{settings.web_port}/readyz", timeout=2).status_code
    except httpx.HTTPError:
        return None


def wait_status(settings: SalvoSettings, status: int, timeout_s: float) -> float:
    """Seconds until `/readyz` answers `status`; fails the test past `timeout_s`."""
    started = time.monotonic()
    while readyz(settings) != status:
        assert time.monotonic() - started < timeout_s, f"/readyz never answered {status} in {timeout_s:.0f} s"
        time.sleep(0.5)
    return time.monotonic() - started


def test_readyz_fails_while_the_broker_is_down_and_recovers_when_it_is_back(
    tmp_path: Path, start_worker: StartWorker
) -> None:
    port = free_port()
    broker = EmbeddedBroker(port=port).start()
    try:
        settings = local_settings(broker.bootstrap, app_id="salvo-loss", topic_prefix="loss.",
                                  data_dir=tmp_path / "data").model_copy(update={"web_port": free_port()})
        create_topics(settings)
        worker = start_worker(settings)
        wait_status(settings, 200, 60)

        broker.stop()
        down = wait_status(settings, 503, 30)
        assert worker.poll() is None

        broker = EmbeddedBroker(port=port).start()  # memory only: it comes back empty
        create_topics(settings)
        back = wait_status(settings, 200, 60)
        assert worker.poll() is None
        print(f"\n/readyz: 503 {down:.1f} s after the broker stopped, 200 {back:.1f} s after it was back")
    finally:
        broker.stop()
