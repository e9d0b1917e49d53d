"""Shared channel test helpers: a real local receiver that fails on demand, a status table, a secret check."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from schemas.delivery import FailureReason

# Every HTTP status a receiver can answer, and what Salvo must make of it (None: delivered).
STATUS_TABLE: list[tuple[int, FailureReason | None]] = [
    (200, None),
    (202, None),
    (204, None),
    (301, FailureReason.CLIENT),
    (400, FailureReason.CLIENT),
    (401, FailureReason.AUTH),
    (403, FailureReason.AUTH),
    (404, FailureReason.CLIENT),
    (408, FailureReason.TIMEOUT),
    (413, FailureReason.CLIENT),
    (422, FailureReason.CLIENT),
    (429, FailureReason.RATE_LIMITED),
    (500, FailureReason.SERVER),
    (502, FailureReason.SERVER),
    (503, FailureReason.SERVER),
    (504, FailureReason.SERVER),
]


@dataclass(frozen=True)
class Received:
    """One request the receiver got, with the wall time it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """A real aiohttp server on 127.0.0.1; `fail` queues answers, `stop`/`start` take it off the network."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def fail(self, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        """Answer the next `times` requests with `status` (and `Retry-After`), then 200 again."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.answers.extend([(status, headers)] * times)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append(Received(request.path, dict(request.headers), body, time.monotonic()))
        status, headers = self.answers.popleft() if self.answers else (200, {})
        return web.Response(status=status, headers=headers, text="ok" if status < 300 else "nope")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A running receiver for one test."""
    running = Receiver()
    await running.start()
    yield running
    await running.stop()


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    """No URL, token or password may appear in an error message or its chained cause."""
    texts = [str(error), repr(error)]
    if error.__cause__ is not None:
        texts.append(str(error.__cause__))
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"secret {secret[:4]}… leaked in {text!r}"
