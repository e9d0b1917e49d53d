"""`salvo demo`: the whole mission on one machine — broker, worker, a signed-webhook subscriber, real items.

The worker runs as a child process exactly as `salvo worker` would, so the demo exercises the product,
not a shortcut through it.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import IO

from rich.console import Console

from schemas import NewsItem, StrikeReport, Subscription
from schemas.secrets import SEAL
from streams import topics
from streams.broker import EmbeddedBroker, free_port, local_settings, port_in_use
from streams.producer import FeedProducer
from streams.reader import TopicReader
from streams.receiver import WebhookReceiver
from streams.settings import SalvoSettings
from streams.sources import FileRejection, read_file
from streams.tail import render

console = Console(stderr=True, soft_wrap=True)
SUBSCRIBER = "demo-webhook"
QUIET_S = 4.0


SAMPLE = files("streams").joinpath("data/demo/sample.jsonl")


def sample_items() -> list[NewsItem | StrikeReport]:
    """The bundled sample (see streams/data/SOURCES.md), in event-time order."""
    items = []
    for _, row in read_file(Path(str(SAMPLE))):
        if isinstance(row, FileRejection):
            raise ValueError(f"the bundled sample is broken: {row}")
        items.append(row)
    return items


def worker_env(settings: SalvoSettings) -> dict[str, str]:
    """The environment that makes a `salvo worker` child use these settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump(exclude_none=True).items():
        env[f"SALVO_{name.upper()}"] = (
            value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        )
    return env


def spawn_worker(
    settings: SalvoSettings, *, out: IO[bytes], env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `salvo worker` as a child process with these settings (plus `env`), its output to `out`."""
    return subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "worker"], env={**worker_env(settings), **(env or {})},
        stdout=out, stderr=out,
    )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, so the worker leaves its group cleanly; SIGKILL if it has not stopped within 20 s."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_worker(settings: SalvoSettings, *, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A `salvo worker` child process, stopped on exit."""
    with log.open("wb") as out:
        process = spawn_worker(settings, out=out)
        try:
            yield process
        finally:
            stop_process(process)


def subscribe(settings: SalvoSettings, subscription: Subscription) -> None:
    """Put a subscription on the compacted `subscriptions` topic, keyed by its name, as the API does."""
    with FeedProducer(settings) as producer:
        body = subscription.model_dump_json(context={SEAL: settings.sealer})
        producer.send_raw(topics.SUBSCRIPTIONS, body.encode(), key=subscription.name.encode())


async def _watch(
    settings: SalvoSettings,
    receiver: WebhookReceiver,
    expected: int,
    *,
    once: bool,
    as_json: bool,
    timeout_s: float,
) -> int:
    """Show events, alerts and deliveries as they arrive; with `once`, return when all is delivered."""
    names = [topics.EVENTS, topics.ALERTS, topics.DEADLETTER]
    processed = 0
    printed = 0
    last_change = time.monotonic()
    deadline = time.monotonic() + timeout_s
    with TopicReader(settings, names) as reader:
        while not once or time.monotonic() < deadline:
            records = await asyncio.to_thread(reader.poll, 0.5)
            for record in records:
                line = render(record)
                if line:
                    console.print(line)
                if record.topic in (topics.EVENTS, topics.DEADLETTER):
                    processed += 1
            for item in receiver.received[printed:]:
                console.print(f"[green]delivered[/] → {SUBSCRIBER} key={item.key} signature verified")
                if as_json:
                    print(json.dumps(item.body, ensure_ascii=False), flush=True)
            if records or len(receiver.received) > printed:
                last_change = time.monotonic()
            printed = len(receiver.received)
            settled = time.monotonic() - last_change > QUIET_S
            if once and processed >= expected and printed > 0 and settled:
                break
    return printed


async def _run(once: bool, as_json: bool, port: int, timeout_s: float, workdir: Path) -> int:
    with EmbeddedBroker(port=free_port() if port_in_use(port) else port) as broker:
        settings = local_settings(broker.bootstrap, data_dir=workdir / "data")
        topics.create_topics(settings)
        console.print(
            f"[bold]broker[/] on {broker.bootstrap}; worker metrics on http://127.0.0.1:{settings.web_port}/metrics"
        )
        receiver = await WebhookReceiver(secret=secrets.token_hex(16)).start()
        subscribe(
            settings,
            Subscription.model_validate(
                {
                    "name": SUBSCRIBER,
                    "target": {"type": "webhook", "url": receiver.url, "secret": receiver.secret},
                }
            ),
        )
        console.print(f"[bold]subscriber[/] {SUBSCRIBER} at {receiver.url} (HMAC-signed webhook)")
        items = sample_items()
        with running_worker(settings, log=workdir / "worker.log"):
            with FeedProducer(settings) as producer:
                for item in items:
                    producer.send(item)
            console.print(f"[bold]fed[/] {len(items)} real items (news and Air Force strike reports)")
            try:
                delivered = await _watch(
                    settings, receiver, len(items), once=once, as_json=as_json, timeout_s=timeout_s
                )
            finally:
                await receiver.stop()
        console.print(f"[bold]{delivered} alert(s) delivered[/] ({receiver.duplicates} repeats deduplicated)")
        return delivered


def run_demo(*, once: bool, as_json: bool, port: int, timeout_s: float) -> int:
    """Run the demo and return how many alerts reached the subscriber."""
    with tempfile.TemporaryDirectory(prefix="salvo-demo-") as workdir:
        try:
            return asyncio.run(_run(once, as_json, port, timeout_s, Path(workdir)))
        except KeyboardInterrupt:
            return 0
