"""Liveness and readiness for the worker's web port: `/healthz` (the process answers) and `/readyz`.

Readiness is three questions the worker answers through callables, so this module needs no Faust import:
is the Kafka client connected, does this worker hold partitions, and have its tables recovered from their
changelogs. Orchestrators route traffic and roll deployments on `/readyz`, and restart on `/healthz`, so a
worker that is merely waiting for a rebalance is alive but not ready and must not be killed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

Check = Callable[[], bool]

HEALTHZ_PATH = "/healthz"
READYZ_PATH = "/readyz"


@dataclass(frozen=True)
class Readiness:
    """The three readiness checks; each is called on every request, so each must be cheap and never block."""

    connected: Check
    assigned: Check
    recovered: Check

    def report(self) -> dict[str, bool]:
        """Each check's answer by name; a check that raises counts as not ready rather than a 500."""
        return {name: _safe(check) for name, check in self.checks().items()}

    def checks(self) -> Mapping[str, Check]:
        """The checks by the name they carry in the `/readyz` body."""
        return {"connected": self.connected, "assigned": self.assigned, "recovered": self.recovered}


def _safe(check: Check) -> bool:
    try:
        return bool(check())
    except Exception:  # noqa: BLE001 - a failing probe means "not ready", whatever it raised
        return False


def readiness_status(readiness: Readiness) -> tuple[int, dict[str, object]]:
    """HTTP status and JSON body for `/readyz`: 200 when every check passes, 503 naming the ones that fail."""
    checks = readiness.report()
    ready = all(checks.values())
    return (200 if ready else 503), {"ready": ready, "checks": checks}


async def healthz(_request: web.Request) -> web.Response:
    """Alive: the event loop runs and serves HTTP; nothing else is checked, so restarts stay rare."""
    return web.json_response({"alive": True})


def readyz_handler(readiness: Readiness) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler for `/readyz` bound to the worker's checks."""

    async def readyz(_request: web.Request) -> web.Response:
        status, body = readiness_status(readiness)
        return web.json_response(body, status=status)

    return readyz


def add_health_routes(router: web.UrlDispatcher, readiness: Readiness) -> None:
    """Mount `/healthz` and `/readyz` on an aiohttp router (Faust's is `app.web.web_app.router`)."""
    router.add_get(HEALTHZ_PATH, healthz)
    router.add_get(READYZ_PATH, readyz_handler(readiness))
