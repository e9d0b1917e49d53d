"""`salvo replay` and `salvo export`: history back onto the topics, and a live topic captured for later."""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from streams import topics
from streams.cli.core import Bootstrap, Prefix, settings_from
from streams.producer import FeedProducer
from streams.reader import TopicReader
from streams.replay import ReplaySummary, behind_live, load, newest_event, replay
from streams.sources import FileFormat

console = Console(stderr=True, soft_wrap=True)


def replay_command(
    files: Annotated[list[Path], typer.Argument(help="Strike CSV, news JSONL/CSV/TSV or Salvo JSONL files.")],
    file_format: Annotated[FileFormat, typer.Option("--format", help="Input format.")] = "auto",
    speed: Annotated[
        float | None, typer.Option(help="Play N times faster than real time.", min=0.001)
    ] = None,
    as_fast: Annotated[
        bool, typer.Option("--max", help="As fast as the broker takes it (the default).")
    ] = False,
    since: Annotated[datetime | None, typer.Option("--from", help="First day (inclusive).")] = None,
    until: Annotated[datetime | None, typer.Option("--to", help="Last day (inclusive).")] = None,
    deliver: Annotated[bool, typer.Option(help="Let the replay's alerts reach subscribers.")] = False,
    label: Annotated[str | None, typer.Option(help="Replay label carried by events and alerts.")] = None,
    bootstrap_servers: Bootstrap = None,
    topic_prefix: Prefix = None,
) -> None:
    """Replay historical feeds to the raw topics in event-time order, with the event time as timestamp."""
    if speed is not None and as_fast:
        console.print("[red]--speed and --max exclude each other[/]")
        raise typer.Exit(2)
    for path in files:
        if not path.is_file():
            console.print(f"[red]no such file: {path}[/]")
            raise typer.Exit(2)
    settings = settings_from(bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix)
    label = label or f"replay-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    summary = ReplaySummary()
    items = list(load(files, file_format=file_format, since=_day(since), until=_day(until), summary=summary,
                      bounds=settings.time_bounds, now=datetime.now(UTC)))
    late = behind_live(items, newest_event(settings), settings.allowed_lateness)
    if late:  # one line that says why, before anything is sent
        console.print(
            f"[yellow]note[/] {late} of {len(items)} items are older than the live events already on "
            f"{settings.topic(topics.EVENTS)} minus the allowed lateness ({settings.allowed_lateness}): the "
            "rules' watermark may be past them, and what is behind it counts as late and alerts on nothing "
            "(`salvo tail events.late`); replay onto a fresh SALVO_TOPIC_PREFIX with its own worker to run "
            "them isolated"
        )
    columns = (
        TextColumn("[bold]replay[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8} items/s"),
        TextColumn("event time {task.fields[clock]}"),
        TimeElapsedColumn(),
    )
    started = time.monotonic()
    with (
        Progress(*columns, console=console) as bar,
        FeedProducer(settings, replay=label, deliver=deliver) as producer,
    ):
        task = bar.add_task("replay", total=len(items), rate="-", clock="-")

        def advance(_item: object, done: ReplaySummary) -> None:
            rate = done.total / max(time.monotonic() - started, 1e-9)
            bar.update(task, completed=done.total, rate=f"{rate:,.1f}", clock=f"{done.last:%Y-%m-%d %H:%M}")

        replay(items, producer, speed=speed, summary=summary, progress=advance)
    _report(summary, label=label, deliver=deliver)


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment is not None else None


def _report(summary: ReplaySummary, *, label: str, deliver: bool) -> None:
    for rejection in summary.rejected:
        console.print(f"[yellow]skipped[/] {rejection}")
    span = (
        f"{summary.first:%Y-%m-%d %H:%M} → {summary.last:%Y-%m-%d %H:%M}"
        if summary.first and summary.last
        else "-"
    )
    feeds = ", ".join(f"{count} {feed}" for feed, count in sorted(summary.sent.items())) or "nothing"
    console.print(
        f"[bold]replayed[/] {feeds} ({span}) in {summary.elapsed_s:.1f}s; {len(summary.rejected)} rows rejected, "
        f"{summary.skipped_out_of_range} outside --from/--to; label {label}; "
        + ("alerts [bold]will be delivered[/]" if deliver else "alerts are not delivered (no --deliver)")
    )


def export_command(
    topic: Annotated[str, typer.Argument(help="Topic name without prefix, e.g. news.raw or alerts.")],
    since: Annotated[
        datetime | None, typer.Option("--from", help="First day of record time (inclusive).")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option("--to", help="Last day of record time (inclusive).")
    ] = None,
    idle: Annotated[float, typer.Option(help="Stop after this many seconds without a new record.")] = 3.0,
    bootstrap_servers: Bootstrap = None,
    topic_prefix: Prefix = None,
) -> None:
    """Write a topic as Salvo JSONL on stdout (`{"topic", "value", ...}` per line), ready for `salvo replay`."""
    known = [spec.name for spec in topics.CATALOGUE]
    if topic not in known:
        console.print(f"[red]unknown topic {topic!r}[/]; one of: {', '.join(known)}")
        raise typer.Exit(2)
    settings = settings_from(bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix)
    first, last = _day(since), _day(until)
    written = 0
    with TopicReader(settings, [topic]) as reader:
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < idle:
            records = reader.poll(0.5)
            if records:
                quiet_since = time.monotonic()
            for record in records:
                day = datetime.fromtimestamp(record.timestamp_ms / 1000, UTC).date()
                if (first and day < first) or (last and day > last) or record.value is None:
                    continue
                line = {
                    "topic": topic,
                    "partition": record.partition,
                    "offset": record.offset,
                    "timestamp_ms": record.timestamp_ms,
                    "key": record.key.decode() if record.key else None,
                    "value": json.loads(record.value),
                }
                sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
                written += 1
    console.print(f"exported {written} records from {settings.topic(topic)}")


def register(app: typer.Typer) -> None:
    """Add `replay` and `export`."""
    app.command("replay")(replay_command)
    app.command("export")(export_command)
