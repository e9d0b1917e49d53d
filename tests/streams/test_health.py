"""`/healthz` and `/readyz` served by a real aiohttp server on a free port, and a real worker's ready line."""

from __future__ import annotations

import time

import aiohttp
import httpx
import pytest
from aiohttp import web

from streams.health import Readiness, add_health_routes
from streams.settings import SalvoSettings


class Flags:
    """Mutable answers for the three checks, as a worker's state would change over its start-up."""

    def __init__(self) -> None:
        self.connected = False
        self.assigned = False
        self.recovered = False

    def readiness(self) -> Readiness:
        return Readiness(lambda: self.connected, lambda: self.assigned, lambda: self.recovered)


async def serve(readiness: Readiness) -> tuple[web.AppRunner, str]:
    app = web.Application()
    add_health_routes(app.router, readiness)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def get(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def test_ready_only_when_connected_assigned_and_recovered() -> None:
    flags = Flags()
    runner, base = await serve(flags.readiness())
    try:
        assert await get(f"{base}/healthz") == (200, {"alive": True})
        status, body = await get(f"{base}/readyz")
        assert status == 503
        assert body == {"ready": False, "checks": {"connected": False, "assigned": False, "recovered": False}}

        flags.connected = flags.assigned = True
        status, body = await get(f"{base}/readyz")
        assert (status, body["checks"]) == (503, {"connected": True, "assigned": True, "recovered": False})

        flags.recovered = True
        assert await get(f"{base}/readyz") == (
            200, {"ready": True, "checks": {"connected": True, "assigned": True, "recovered": True}}
        )
        # Alive throughout, ready or not: a rebalance must not get the worker restarted.
        assert (await get(f"{base}/healthz"))[0] == 200
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("failing", ["connected", "assigned", "recovered"])
def test_a_check_that_raises_means_not_ready(failing: str) -> None:
    def boom() -> bool:
        raise RuntimeError("consumer not started")

    checks = {"connected": lambda: True, "assigned": lambda: True, "recovered": lambda: True, failing: boom}
    report = Readiness(**checks).report()
    assert report[failing] is False
    assert sum(report.values()) == 2


def test_a_worker_logs_one_ready_line_with_its_urls(salvo_settings: SalvoSettings, start_worker, tmp_path) -> None:
    """At the default WARNING level too: the operator sees when the worker is up, and where."""
    start_worker(salvo_settings)
    log = tmp_path / "worker-0.log"
    deadline = time.monotonic() + 60
    while "salvo worker ready" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    lines = [line for line in log.read_text().splitlines() if "salvo worker ready" in line]
    assert len(lines) == 1, lines
    base = f"http://{salvo_settings.web_host}:{salvo_settings.web_port}"
    assert f"{base}/readyz" in lines[0] and f"{base}/metrics" in lines[0] and f"{base}/api/openapi.json" in lines[0]
    assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200, "ready when it says so"
