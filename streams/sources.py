"""Readers of historical feed files (the strike CSV, the air-raid alerts CSV, news JSONL/CSV/TSV, Telegram
Desktop's JSON export of a channel) into feed contracts, without Kafka.

Each reader yields `(line_number, StrikeReport | NewsItem | AirRaidAlert | FileRejection)`: a bad row is
reported with its file and line and skipped, never fatal, so one quirk cannot hide a year of history. The
backtest runs these through the rule core; the replay produces them to Kafka.

Time zones: the strike CSV states none; its times are Ukrainian Air Force report times, read as
Europe/Kyiv local time (a bare `YYYY-MM-DD` is local midnight). News times without a zone are read as UTC.
The air-raid CSV states UTC; each of its rows is an alert from start to end, so it gives two items, the start
and the end, each at its own event time.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import ValidationError as PydanticValidationError

from schemas import NewsItem, StrikeReport
from schemas.airraid import AirRaidAlert
from streams.feeds import telegram
from streams.ingest import describe
from streams.plausible import DEFAULT_BOUNDS, TimeBounds

KYIV = ZoneInfo("Europe/Kyiv")
_STRIKE_COLUMNS = {"time_start", "time_end", "model", "launched"}
_AIRRAID_COLUMNS = {"oblast", "level", "started_at", "finished_at"}
_LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


@dataclass(frozen=True)
class FileRejection:
    """A row that could not become a feed item: where it is and why."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


FeedItem = NewsItem | StrikeReport | AirRaidAlert
Row = tuple[int, FeedItem | FileRejection]
FileFormat = Literal["auto", "jsonl", "strikes-csv", "airraid-csv", "news-csv", "telegram-json"]
"""What a file holds: "auto" decides by its columns (the strike CSV's `time_start, time_end, model, launched`,
the air-raid CSV's `oblast, level, started_at, finished_at`), and a `.json` file is a Telegram export."""
_CONTRACTS: dict[str, type[FeedItem]] = {"news.raw": NewsItem, "strikes.raw": StrikeReport,
                                         "airraid.raw": AirRaidAlert}
_FEEDS = {contract: topic.removesuffix(".raw") for topic, contract in _CONTRACTS.items()}


def feed_of(item: FeedItem) -> str:
    """The feed an item belongs to ("news", "strikes", "airraid"); its raw topic is "<feed>.raw"."""
    return _FEEDS[type(item)]


def event_time(item: FeedItem) -> datetime:
    """An item's event time: a story's publication, a strike report's end of window, an alert's start or end."""
    if isinstance(item, NewsItem):
        return item.published_at
    return item.at if isinstance(item, AirRaidAlert) else item.time_end


@dataclass
class Feed:
    """The items of several files in one order, with where each came from and what was refused."""

    items: list[tuple[str, int, FeedItem]]
    rejected: list[FileRejection]
    out_of_range: int


def read_feeds(
    paths: Iterable[str | Path], *, file_format: FileFormat = "auto", since: date | None = None,
    until: date | None = None, bounds: TimeBounds = DEFAULT_BOUNDS, now: datetime | None = None,
) -> Feed:
    """Every item of the files whose event day is within [since, until], as (file, line, item), ordered by
    (event time, file, id). An item the worker would refuse as `implausible_time` (`streams.plausible`;
    "ahead of the clock" only when `now` is given) is a rejection here too.

    This is the one order: the backtest evaluates it and `salvo replay` sends it, so the worker sees what the
    backtest sees. Files are not in event order (the strike CSV is newest first), hence the sort.
    """
    keyed: list[tuple[datetime, int, str, str, int, FeedItem]] = []
    rejected: list[FileRejection] = []
    out_of_range = 0
    for number, path in enumerate(paths):
        for line, row in read_file(path, file_format=file_format):
            if isinstance(row, FileRejection):
                rejected.append(row)
                continue
            moment = event_time(row)
            refusal = bounds.refusal(moment, now=now or moment)
            if refusal is not None:
                rejected.append(FileRejection(str(path), line, f"implausible_time: {refusal}"))
                continue
            if (since is not None and moment.date() < since) or (until is not None and moment.date() > until):
                out_of_range += 1
                continue
            keyed.append((moment, number, row.id, str(path), line, row))
    keyed.sort(key=lambda entry: entry[:3])
    return Feed([(path, line, item) for *_, path, line, item in keyed], rejected, out_of_range)


def strike_time(text: str) -> datetime:
    """A strike CSV time ("2025-09-07 09:30", "2023-05-16 3:30" or "2025-09-07") in Kyiv local time."""
    for fmt in _LOCAL_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=KYIV)
        except ValueError:
            continue
    raise ValueError(f"unreadable time {text!r}")


def _count(text: str) -> int | None:
    """"236.0" → 236; empty or NaN → None (the CSV writes counts as floats)."""
    if not text.strip():
        return None
    value = float(text)
    return None if math.isnan(value) else int(value)


def _places(text: str) -> list[str]:
    """"Kursk oblast and Bryansk oblast" or "['Kyiv oblast', …]" → a list of place names."""
    text = text.strip()
    if text.startswith("["):
        parsed = ast.literal_eval(text)
        return [str(p).strip() for p in parsed if str(p).strip()]
    return [p.strip() for p in text.split(" and ") if p.strip()]


def _optional(text: str) -> str | None:
    return text.strip() or None


def strike_report(row: dict[str, str]) -> StrikeReport:
    """One CSV row as a `StrikeReport`; the id hashes source, model, target and window (deterministic)."""
    missing = sorted(_STRIKE_COLUMNS - row.keys())
    if missing:
        raise ValueError(f"not a strike report row: no column(s) {', '.join(missing)}")
    source = row.get("source", "").strip()
    key = "\x1f".join(row.get(c, "").strip() for c in ("source", "model", "target", "time_start", "time_end"))
    account = re.sub(r"[^A-Za-z0-9_.-]", "", source.split("/")[0]) or "strike"
    return StrikeReport(
        id=f"{account}-{hashlib.sha256(key.encode()).hexdigest()[:16]}",
        time_start=strike_time(row["time_start"]),
        time_end=strike_time(row["time_end"]),
        model=row["model"],
        launched=_count(row.get("launched", "")),
        destroyed=_count(row.get("destroyed", "")),
        not_reach_goal=_count(row.get("not_reach_goal", "")),
        still_attacking=_count(row.get("still_attacking", "")),
        targets=_places(row.get("target", "")),
        target_main=_optional(row.get("target_main", "")),
        launch_places=_places(row.get("launch_place", ""))[:64],
        affected_regions=_places(row.get("affected region", "")),
        hit_locations=_count(row.get("num_hit_location", "")),
        fragment_locations=_count(row.get("num_fall_fragment_location", "")),
        carrier=_optional(row.get("carrier", "")),
        source=source or "unknown",
    )


def airraid_alert(row: dict[str, str]) -> AirRaidAlert:
    """One row of the official alerts CSV as the record of the alert's end; the id hashes place and start, so
    a replay and a second export of the same alert agree."""
    key = "\x1f".join(row.get(c, "").strip() for c in ("oblast", "raion", "hromada", "level", "started_at"))
    return AirRaidAlert(
        id=f"alert-{hashlib.sha256(key.encode()).hexdigest()[:16]}",
        oblast=row["oblast"],
        raion=_optional(row.get("raion", "")),
        hromada=_optional(row.get("hromada", "")),
        level=row.get("level", "").strip() or "oblast",  # type: ignore[arg-type]
        started_at=datetime.fromisoformat(row["started_at"].strip()),
        finished_at=datetime.fromisoformat(row["finished_at"].strip()) if row.get("finished_at", "").strip() else None,
        source=_optional(row.get("source", "")) or "official",
    )


# Column names seen in real news exports, in order of preference.
_NEWS_TIME = ("published_at", "seen_utc", "created_at", "timestamp_utc", "datetime", "full_date", "date")
_NEWS_TITLE = ("title", "headline", "heading", "full_text", "text")
_NEWS_BODY = ("body", "description_en", "description", "text")
_NEWS_SOURCE = ("source", "twitter_username", "account_name", "country")
_NEWS_URL = ("url", "link", "twitter_url")
_NEWS_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%m/%d/%Y %H:%M", "%m/%d/%Y",
                 "%d %B %Y %I:%M %p", "%d %B %Y", "%A, %d %B %Y")


def _first(row: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        value = row.get(name)
        if value is not None and str(value).strip() and str(value).strip().lower() != "nan":
            return str(value).strip()
    return ""


def news_time(row: dict[str, Any]) -> datetime:
    """The publication time of a news row; a separate `time`/`timestamp` column is joined to a date."""
    text = _first(row, _NEWS_TIME)
    clock = _first(row, ("time", "timestamp")) if _first(row, ("full_date", "date")) == text else ""
    candidates = [f"{text} {clock}", text] if clock else [text]
    for candidate in candidates:
        try:
            parsed = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
            for fmt in _NEWS_FORMATS:
                try:
                    parsed = datetime.strptime(candidate, fmt)
                    break
                except ValueError:
                    continue
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"unreadable time {text!r}")


def news_item(row: dict[str, Any], *, default_source: str) -> NewsItem:
    """A news row under common column names as a `NewsItem`; the id is given or hashed from the row."""
    title = _first(row, _NEWS_TITLE)
    body = _first(row, _NEWS_BODY)
    title_line = title.splitlines()[0][:1_000] if title else ""
    published = news_time(row)
    source = _first(row, _NEWS_SOURCE) or default_source
    given = _first(row, ("id",))
    digest = hashlib.sha256(f"{source}\x1f{published.isoformat()}\x1f{title}".encode()).hexdigest()[:16]
    lang = _first(row, ("lang",)) or None
    return NewsItem(
        id=given if given and " " not in given else f"{default_source}-{digest}",
        source=source[:256],
        url=_first(row, _NEWS_URL) or None,
        published_at=published,
        title=title_line,
        body=(body if body != title_line else "")[:20_000],
        lang=lang if lang in ("en", "uk", "ru", "other") else None,
    )


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | FileRejection]]:
    """Records of a JSONL, CSV or TSV file with the line each starts on."""
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix == ".jsonl":
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield number, json.loads(line)
                    except json.JSONDecodeError as exc:
                        yield number, FileRejection(str(path), number, f"invalid JSON: {exc.msg}")
            return
        csv.field_size_limit(sys.maxsize)
        reader = csv.DictReader(handle, delimiter="\t" if path.suffix == ".tsv" else ",")
        start = 2
        for record in reader:
            if None in record or None in record.values():
                yield start, FileRejection(str(path), start, "row and header have different numbers of fields")
            else:
                yield start, record
            start = reader.line_num + 1


def _salvo_record(record: dict[str, Any]) -> FeedItem:
    """A line of Salvo's own JSONL (`salvo export`, the demo sample): `{"topic": "news.raw", "value": {…}}`."""
    contract = _CONTRACTS.get(str(record.get("topic")))
    if contract is None or not isinstance(record.get("value"), dict):
        raise ValueError(f"not a Salvo record of {' or '.join(_CONTRACTS)}: needs 'topic' and an object 'value'")
    return contract.model_validate(record["value"])


def _reading(record: dict[str, Any], file_format: FileFormat) -> FileFormat:
    if file_format != "auto":
        return file_format
    if {"topic", "value"} <= record.keys():
        return "jsonl"
    if _AIRRAID_COLUMNS <= record.keys():
        return "airraid-csv"
    return "strikes-csv" if _STRIKE_COLUMNS <= record.keys() else "news-csv"


def _telegram(path: Path) -> Iterator[Row]:
    """A Telegram export's posts; a refusal's "line" is the message id (the export is one JSON document)."""
    try:
        posts = list(telegram.messages(telegram.read_export(path)))
    except ValueError as error:
        yield 1, FileRejection(str(path), 1, str(error))
        return
    for number, item in posts:
        yield number, item if isinstance(item, NewsItem) else FileRejection(str(path), number, item)


def read_file(path: str | Path, *, file_format: FileFormat = "auto") -> Iterator[Row]:
    """Every record of a feed file as a strike report, air-raid alert or news item, or a rejection with file
    and line. A row of the air-raid CSV gives two items on its line: the alert's start and, if it ended, its end.

    :param file_format: "jsonl" (Salvo's own records), "strikes-csv" (the Air Force strike CSV),
        "airraid-csv" (the official air-raid alerts CSV), "news-csv" (news in CSV, TSV or JSONL with common
        column names) or "telegram-json" (Telegram Desktop's export, `streams.feeds.telegram`) to force the
        reading; "auto" (default) decides per record by its keys, and by the `.json` suffix for an export.
    """
    path = Path(path)
    if file_format == "telegram-json" or (file_format == "auto" and path.suffix == ".json"):
        yield from _telegram(path)
        return
    for number, record in _rows(path):
        if isinstance(record, FileRejection):
            yield number, record
            continue
        reading = _reading(record, file_format)
        try:
            if reading == "jsonl":
                yield number, _salvo_record(record)
            elif reading == "strikes-csv":
                yield number, strike_report(record)
            elif reading == "airraid-csv":
                alert = airraid_alert(record)
                yield number, alert.start()
                if alert.ended:
                    yield number, alert
            else:
                yield number, news_item(record, default_source=path.stem)
        except PydanticValidationError as exc:
            yield number, FileRejection(str(path), number, describe(exc)[1])
        except (ValueError, SyntaxError, KeyError) as exc:
            yield number, FileRejection(str(path), number, f"{type(exc).__name__}: {exc}")
