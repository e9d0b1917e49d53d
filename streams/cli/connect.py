"""`salvo connect`: poll the configured RSS/Atom feeds and Telegram export folders onto `news.raw` and air-raid
APIs onto `airraid.raw`, with `/healthz` and `/metrics`."""

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
from streams.feeds.airraid import AirRaidPoller
from streams.feeds.config import Sources
from streams.feeds.poll import FeedMetrics, Poller, run
from streams.feeds.rss import FeedPoller
from streams.feeds.telegram import TelegramPoller
from streams.producer import FeedProducer


def serve(registry: CollectorRegistry, pollers: list[Poller], host: str, port: int) -> ThreadingHTTPServer:
    """`/metrics`, and `/healthz`: 200 while no source is failing, else 503 naming the failing ones."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/metrics":
                body, status, kind = generate_latest(registry), 200, CONTENT_TYPE_LATEST
            elif self.path == "/healthz":
                late = [p.name for p in pollers if p.state.failures > 0]
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
                                          help="YAML: feeds: [{name, url, interval, lang}], airraid: "
                                               "[{name, url, interval}], telegram: [{name, folder, channel}].")],
    state_dir: Annotated[Path, typer.Option(help="Where each source's validators and sent items are kept.")] = Path(
        ".salvo/connect"),
    port: Annotated[int, typer.Option(help="Port of /healthz and /metrics (0: none).")] = 6070,
    once: Annotated[bool, typer.Option("--once", help="Poll every source once, then exit.")] = False,
    bootstrap_servers: Bootstrap = None,
    topic_prefix: Prefix = None,
) -> None:
    """Poll RSS/Atom feeds onto news.raw and air-raid APIs onto airraid.raw (conditional GET, backoff, dedup)."""
    settings = settings_from(bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix)
    configured = Sources.load(sources)
    token = settings.alerts_in_ua_token
    if configured.airraid and (token is None or not token.get_secret_value()):
        typer.echo("salvo connect: an airraid source needs its API token in SALVO_ALERTS_IN_UA_TOKEN", err=True)
        raise typer.Exit(2)
    registry = CollectorRegistry()
    metrics = FeedMetrics(registry)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with FeedProducer(settings) as producer, httpx.Client(follow_redirects=True) as client:

        shared = {"state_dir": state_dir, "publish": producer.publish, "metrics": metrics}
        pollers: list[Poller] = [FeedPoller(feed, client=client, **shared) for feed in configured.feeds]
        pollers += [AirRaidPoller(api, token=token.get_secret_value(), client=client,  # type: ignore[union-attr]
                                  **shared) for api in configured.airraid]
        pollers += [TelegramPoller(folder, **shared) for folder in configured.telegram]
        server = serve(registry, pollers, settings.web_host, port) if port else None
        try:
            if once:
                for poller in pollers:
                    typer.echo(f"{poller.name}: {poller.poll()} new")
            else:
                typer.echo(f"salvo connect: {len(configured.feeds)} feeds and {len(configured.telegram)} Telegram "
                           f"folders onto {settings.topic('news.raw')}, {len(configured.airraid)} air-raid "
                           f"sources onto {settings.topic('airraid.raw')}"
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
