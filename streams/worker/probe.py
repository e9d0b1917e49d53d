"""Whether the broker answers: `/readyz` must fail while it is unreachable, not only before the first start.

Faust's clients say "started" from their first connection on, so `/readyz` kept answering 200 while the
broker was down. This probe asks the broker for cluster metadata every `interval_s` on a client of its own
(so a producer stuck on a full buffer cannot make the broker look down) and remembers when it last
answered; the worker counts as connected while that is at most `grace` intervals ago. Losing and regaining
the broker are logged once each, not on every probe. Every failed round trip is also reported to
`on_failure`, however short the outage: a broker that restarted between two probes may have come back empty
(`streams.worker.rewind`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaClient

log = logging.getLogger(__name__)


class BrokerProbe:
    """Metadata round trips to the broker, and the time of the last one that succeeded."""

    def __init__(self, bootstrap_servers: str, *, client_id: str, interval_s: float, grace: int = 3,
                 clock: Callable[[], float] = time.monotonic, on_failure: Callable[[], Any] = lambda: None) -> None:
        self.on_failure = on_failure
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self.interval_s = interval_s
        self.grace = grace
        self.clock = clock
        self.last_ok: float | None = None
        self._client: AIOKafkaClient | None = None
        self._lost = False

    async def probe(self) -> bool:
        """One round trip (the worker's timer calls this every `interval_s`); whether it succeeded."""
        try:
            if self._client is None:
                client = AIOKafkaClient(bootstrap_servers=self.bootstrap_servers, client_id=self.client_id,
                                        request_timeout_ms=int(self.interval_s * 1000))
                await asyncio.wait_for(client.bootstrap(), timeout=self.interval_s)
                self._client = client
            await asyncio.wait_for(self._client.fetch_all_metadata(), timeout=self.interval_s)
        except Exception as exc:  # whatever failed, the broker did not answer
            self.on_failure()
            if not self._lost and not self.reachable():
                log.error("broker %s unreachable (%s: %s); /readyz answers 503 until it is back",
                          self.bootstrap_servers, type(exc).__name__, exc)
                self._lost = True
            return False
        self.last_ok = self.clock()
        if self._lost:
            log.warning("broker %s reachable again", self.bootstrap_servers)
            self._lost = False
        return True

    def reachable(self) -> bool:
        """The broker answered within the last `grace` intervals."""
        return self.last_ok is not None and self.clock() - self.last_ok <= self.grace * self.interval_s

    async def close(self) -> None:
        """Close the probe's connections."""
        if self._client is not None:
            await self._client.close()
            self._client = None
