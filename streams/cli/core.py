"""The core commands: run the broker and the worker, send items, export the contracts, run the demo."""

from __future__ import annotations

import hashlib
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from rich.console import Console

from schemas import NewsItem, StrikeReport
from streams.ingest import describe
from streams.settings import SalvoSettings

console = Console(stderr=True)

Bootstrap = Annotated[str | None, typer.Option("--bootstrap-servers", "-b", help="Kafka bootstrap servers.")]
Prefix = Annotated[str | None, typer.Option("--topic-prefix", help="Prefix of every topic name.")]


def settings_from(**overrides: Any) -> SalvoSettings:
    """`SALVO_*` environment settings with the flags that were given laid over them."""
    return SalvoSettings(**{key: value for key, value in overrides.items() if value is not None})


def broker(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9092,
    partitions: Annotated[int | None, typer.Option(help="Partitions of the scaled topics.")] = None,
    topic_prefix: Prefix = None,
) -> None:
    """Run the embedded Tansu broker with Salvo's topics until Ctrl-C (memory storage: data goes with it)."""
    from streams.broker import EmbeddedBroker
    from streams.topics import create_topics

    settings = settings_from(
        bootstrap_servers=f"{host}:{port}", partitions=partitions, topic_prefix=topic_prefix
    )
    with EmbeddedBroker(host=host, port=port) as running:
        created = create_topics(settings)
        console.print(f"[green]broker listening on {running.bootstrap}[/] ({len(created)} topics created)")
        console.print("for a worker on this broker (see README, 'The embedded broker and its limits'):")
        console.print(
            f"export SALVO_BOOTSTRAP_SERVERS={running.bootstrap} SALVO_SESSION_TIMEOUT_S=6", soft_wrap=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            assert running.process is not None
            running.process.wait()
        except KeyboardInterrupt:
            console.print("stopping broker")


def worker(
    bootstrap_servers: Bootstrap = None,
    topic_prefix: Prefix = None,
    store: Annotated[str | None, typer.Option(help="Table store: rocksdb:// or memory://.")] = None,
    web_port: Annotated[
        int | None, typer.Option(help="Port of /metrics, /healthz, /readyz and the API.")
    ] = None,
    rules: Annotated[
        Path | None, typer.Option("--rules", help="Rules YAML (default: the shipped rules).")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="Log level.")] = None,
) -> None:
    """Run the stream processors: ingest → classify → rules → alerts → delivery."""
    import faust

    from streams.app import build_app
    from streams.classify import EncoderMissing
    from streams.topics import create_topics

    settings = settings_from(
        bootstrap_servers=bootstrap_servers,
        topic_prefix=topic_prefix,
        store=store,
        web_port=web_port,
        rules_file=rules,
        log_level=log_level,
    )
    try:
        app = build_app(settings)
    except EncoderMissing as missing:  # before anything is created or joined: the one line that says why
        typer.echo(f"error: {missing}", err=True)
        raise typer.Exit(2) from None
    create_topics(settings)
    runner = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    # faust's start-up spinner sets the root logger to DEBUG for good, so every debug line of faust and aiokafka
    # (several per record sent) is built into a LogRecord and passed to handlers: measured at a fifth of the
    # worker's time per event. Without the spinner the log level is the one asked for.
    runner.spinner = None
    runner.execute_from_commandline()


def _read_item(contract: type[BaseModel], fields: dict[str, Any]) -> BaseModel:
    """Flags when any were given, else one JSON object from stdin; invalid input exits 2, naming the field."""
    given = {key: value for key, value in fields.items() if value not in (None, [], ())}
    try:
        if set(given) - {"id", "source", "published_at"}:
            return contract.model_validate(given)
        return contract.model_validate_json(sys.stdin.read())
    except PydanticValidationError as exc:
        console.print(f"[red]invalid {contract.__name__}[/]: {describe(exc)[1]}")
        raise typer.Exit(2) from exc


def _send(item: NewsItem | StrikeReport, settings: SalvoSettings) -> None:
    from streams.producer import FeedProducer, raw_topic

    with FeedProducer(settings) as producer:
        producer.send(item)
    console.print(f"sent {item.id} to {settings.topic(raw_topic(item))}")


send_app = typer.Typer(
    help="Produce one item to a raw topic, from flags or JSON on stdin.", no_args_is_help=True
)


def _stable_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@send_app.command("news")
def send_news(
    title: Annotated[str | None, typer.Option(help="Headline.")] = None,
    body: Annotated[str | None, typer.Option(help="Body text.")] = None,
    source: Annotated[str, typer.Option(help="Feed or outlet name.")] = "cli",
    url: Annotated[str | None, typer.Option(help="Link to the story.")] = None,
    published_at: Annotated[str | None, typer.Option(help="ISO time with zone (default: now).")] = None,
    lang: Annotated[str | None, typer.Option(help="en, uk, ru or other (default: detected).")] = None,
    item_id: Annotated[
        str | None, typer.Option("--id", help="Item id (default: derived from the title).")
    ] = None,
    bootstrap_servers: Bootstrap = None,
    topic_prefix: Prefix = None,
) -> None:
    """Send a news item: `salvo send news --title "…"` or `echo '{…}' | salvo send news`."""
    when = published_at or datetime.now(UTC).isoformat()
    fields = {"title": title, "body": body, "url": url, "lang": lang, "source": source, "published_at": when}
    fields["id"] = item_id or (_stable_id(source, title, when) if title else None)
    item = _read_item(NewsItem, fields)
    assert isinstance(item, NewsItem)
    _send(item, settings_from(bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix))


@send_app.command("strike")
def send_strike(
    model: Annotated[str | None, typer.Option(help="Weapon model, e.g. Shahed-136/131.")] = None,
    launched: Annotated[int | None, typer.Option(help="Number launched.")] = None,
    destroyed: Annotated[int | None, typer.Option(help="Number destroyed.")] = None,
    time_start: Annotated[
        str | None, typer.Option(help="Start of the attack window (ISO with zone).")
    ] = None,
    time_end: Annotated[str | None, typer.Option(help="End of the attack window (ISO with zone).")] = None,
    region: Annotated[list[str] | None, typer.Option(help="Affected region (repeatable).")] = None,
    source: Annotated[str, typer.Option(help="Report source.")] = "cli",
    item_id: Annotated[str | None, typer.Option("--id", help="Report id (default: derived).")] = None,
    bootstrap_servers: Bootstrap = None,
    topic_prefix: Prefix = None,
) -> None:
    """Send a strike report: `salvo send strike --model Shahed-136/131 --launched 400` or JSON on stdin."""
    end = time_end or datetime.now(UTC).isoformat()
    fields = {
        "model": model,
        "launched": launched,
        "destroyed": destroyed,
        "time_start": time_start or end,
        "time_end": end,
        "affected_regions": region,
        "source": source,
    }
    fields["id"] = item_id or (_stable_id(source, model, end) if model else None)
    item = _read_item(StrikeReport, fields)
    assert isinstance(item, StrikeReport)
    _send(item, settings_from(bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix))


topics_app = typer.Typer(help="Salvo's topics on the configured cluster.", no_args_is_help=True)


@topics_app.command("create")
def topics_create(
    bootstrap_servers: Bootstrap = None,
    topic_prefix: Prefix = None,
    partitions: Annotated[int | None, typer.Option(help="Partitions of the scaled topics.")] = None,
    replication_factor: Annotated[int | None, typer.Option(help="Replication factor.")] = None,
) -> None:
    """Create the missing topics (existing ones are left as they are); for Apache Kafka deployments."""
    from streams.topics import create_topics, topic_names

    settings = settings_from(
        bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix, partitions=partitions,
        replication_factor=replication_factor,
    )
    created = set(create_topics(settings))
    for name in topic_names(settings):
        typer.echo(f"{name}\t{'created' if name in created else 'exists'}")


schemas_app = typer.Typer(help="The topic contracts.", no_args_is_help=True)


@schemas_app.command("export")
def schemas_export(
    directory: Annotated[Path, typer.Argument(help="Where to write the JSON Schemas.")],
) -> None:
    """Write the JSON Schema of every topic contract to DIRECTORY."""
    from schemas.export import export_json_schemas

    for path in export_json_schemas(directory):
        typer.echo(path)


def tail(
    names: Annotated[
        list[str] | None, typer.Argument(
            help="Topics: events.classified, events.late, alerts, deliveries.log, deadletter.")
    ] = None,
    idle: Annotated[float | None, typer.Option(help="Stop after this many quiet seconds (default: follow).")] = None,
    bootstrap_servers: Bootstrap = None,
    topic_prefix: Prefix = None,
) -> None:
    """Follow the pipeline from the beginning of its topics: events, late events, alerts, deliveries and dead
    letters."""
    from streams.reader import TopicReader
    from streams.tail import WATCHED, render

    chosen = names or list(WATCHED)
    unknown = [name for name in chosen if name not in WATCHED]
    if unknown:
        console.print(f"[red]cannot tail {', '.join(unknown)}[/]; one of: {', '.join(WATCHED)}")
        raise typer.Exit(2)
    out = Console(soft_wrap=True)
    settings = settings_from(bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix)
    with TopicReader(settings, chosen) as reader:
        quiet_since = time.monotonic()
        try:
            while idle is None or time.monotonic() - quiet_since < idle:
                records = reader.poll(0.5)
                if records:
                    quiet_since = time.monotonic()
                for record in records:
                    line = render(record)
                    if line:
                        out.print(line)
        except KeyboardInterrupt:
            pass


def demo(
    once: Annotated[
        bool, typer.Option("--once", help="Exit when the sample is processed and delivered.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each delivered alert as one JSON line.")
    ] = False,
    port: Annotated[int, typer.Option(help="Broker port (a free one if taken).")] = 9092,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the sample with --once.")] = 120.0,
) -> None:
    """The whole mission in one command: broker, worker, a webhook subscriber and a sample of real items."""
    from streams.demo import run_demo

    delivered = run_demo(once=once, as_json=as_json, port=port, timeout_s=timeout)
    if once and delivered == 0:
        console.print("[red]no alert reached the receiver[/]")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the core commands to the root app."""
    app.command()(broker)
    app.command()(worker)
    app.command()(demo)
    app.command()(tail)
    app.add_typer(send_app, name="send")
    app.add_typer(schemas_app, name="schemas")
    app.add_typer(topics_app, name="topics")
