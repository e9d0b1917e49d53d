"""The one line a worker logs when it first becomes ready, with where to reach it.

The worker's log level defaults to WARNING, so that faust's and aiokafka's chatter stays out, and an operator
who started it saw nothing at all once it was up: was it still joining the group, recovering tables, or
ready? This line is logged at INFO on its own logger with its own handler on stderr, since faust's logging set-up
gives the root handler the worker's level; so it is there at any level, and once. It is logged when every
`/readyz` check first passes (`streams.health`).
"""

from __future__ import annotations

import asyncio
import logging
import sys

from streams.health import Readiness
from streams.settings import SalvoSettings

log = logging.getLogger("salvo.ready")

POLL_S = 0.5  # how often the checks are asked until they pass; each is cheap (`Readiness`)


def ready_line(settings: SalvoSettings) -> str:
    """What the line says: the web port's URLs, the broker and the topic prefix."""
    base = f"http://{settings.web_host}:{settings.web_port}"
    prefix = f", topic prefix {settings.topic_prefix!r}" if settings.topic_prefix else ""
    return (f"salvo worker ready: {base}/readyz, {base}/metrics, API {base}/api/openapi.json; "
            f"broker {settings.bootstrap_servers}{prefix}")


async def announce_ready(readiness: Readiness, settings: SalvoSettings) -> None:
    """Wait until the worker is ready, then log `ready_line` once."""
    while not all(readiness.report().values()):
        await asyncio.sleep(POLL_S)
    # set up here, not at import: faust configures logging (dictConfig) after the app is built
    if not log.handlers:
        handler = logging.StreamHandler(sys.__stderr__)  # faust redirects sys.stderr into its log at WARNING
        handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # at level INFO the root handler would print it a second time
    log.disabled = False
    log.info(ready_line(settings))
