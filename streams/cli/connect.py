"""`salvo connect`: poll the configured RSS/Atom feeds onto `news.raw`, with `/healthz` and `/metrics`."""

from __future__ import annotations

import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated

import httpx
import typer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from streams.cli.core import Bootstrap, Prefix, settings_from
from streams.feeds.rss import FeedMetrics, Poller, Sources, run
from streams.producer import FeedProducer


def serve(registry: CollectorRegistry, pollers: list[Poller], host: str, port: int) -> ThreadingHTTPServer:
    """`/metrics`, and `/healthz`: 200 while every feed was read within three of its intervals, else 503."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/metrics":
                body, status, kind = generate_latest(registry), 200, CONTENT_TYPE_LATEST
            elif self.path == "/healthz":
                late = [p.feed.name for p in pollers if p.state.failures > 0]
                body = (b"ok\n" if not late else f"failing: {', '.join(late)}\n".encode())
                status, kind = (200 if not late else 503), "text/plain"
            else:
                body, status, kind = b"not found\n", 404, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # scrapes every few seconds are not news
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def connect_command(
    sources: Annotated[Path, typer.Option("--sources", exists=True, dir_okay=False,
                                          help="YAML: feeds: [{name, url, interval, lang}].")],
    state_dir: Annotated[Path, typer.Option(help="Where each feed's ETag and seen ids are kept.")] = Path(
        ".salvo/connect"),
    port: Annotated[int, typer.Option(help="Port of /healthz and /metrics (0: none).")] = 6070,
    once: Annotated[bool, typer.Option("--once", help="Poll every feed once, then exit.")] = False,
    bootstrap_servers: Bootstrap = None,
    topic_prefix: Prefix = None,
) -> None:
    """Poll RSS/Atom feeds and produce their new entries to news.raw (conditional GET, backoff, dedup)."""
    settings = settings_from(bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix)
    feeds = Sources.load(sources).feeds
    registry = CollectorRegistry()
    metrics = FeedMetrics(registry)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with FeedProducer(settings) as producer, httpx.Client(follow_redirects=True) as client:

        def publish(items: list) -> None:
            for item in items:
                producer.send(item)
            producer.flush()

        pollers = [Poller(feed, state_dir=state_dir, client=client, publish=publish, metrics=metrics)
                   for feed in feeds]
        server = serve(registry, pollers, settings.web_host, port) if port else None
        try:
            if once:
                for poller in pollers:
                    typer.echo(f"{poller.feed.name}: {poller.poll()} new")
            else:
                typer.echo(f"salvo connect: {len(pollers)} feeds onto {settings.topic('news.raw')}"
                           + (f"; http://{settings.web_host}:{port}/healthz" if port else ""), err=True)
                run(pollers, stop=stopping.is_set)
        except KeyboardInterrupt:
            pass
        finally:
            if server is not None:
                server.shutdown()


def register(app: typer.Typer) -> None:
    """Add `connect` to the root app."""
    app.command("connect")(connect_command)
