"""A local webhook receiver that checks Salvo's signature: the demo's subscriber, and a reference for users.

It answers 200 only to a correctly signed request and records each idempotency key once, which is what a
real subscriber should do with Salvo's at-least-once delivery.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from alerts.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify


@dataclass
class Received:
    """One accepted delivery: the parsed body, its idempotency key and when it arrived."""

    key: str
    body: dict[str, Any]
    at: float


@dataclass
class WebhookReceiver:
    """An aiohttp server on 127.0.0.1; `received` holds each idempotency key's first delivery in order."""

    secret: str
    port: int = 0
    received: list[Received] = field(default_factory=list)
    duplicates: int = 0
    rejected: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The URL to subscribe."""
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(body, request.headers.get(SIGNATURE_HEADER, ""), secret=self.secret, now=time.time()):
            self.rejected += 1
            return web.json_response({"error": "bad signature"}, status=401)
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        if any(item.key == key for item in self.received):
            self.duplicates += 1
        else:
            self.received.append(Received(key=key, body=json.loads(body), at=time.time()))
        return web.json_response({"ok": True})

    async def start(self) -> WebhookReceiver:
        """Listen; with `port=0` the OS picks a free port, read back into `port`."""
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
