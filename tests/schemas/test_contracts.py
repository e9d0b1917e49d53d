"""The topic contracts: strict times, bounds and counts, the unknown-field policy, and the JSON Schema export."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas import Alert, ClassifiedEvent, DeadLetter, NewsItem, RejectReason, StrikeReport
from schemas.base import MAX_REPORTED
from schemas.deadletter import MAX_KEPT_BYTES
from schemas.export import TOPIC_CONTRACTS, export_json_schemas

NEWS = {"id": "n1", "source": "wire", "published_at": "2026-02-17T07:30:00+02:00", "title": "Talks open in Geneva"}
STRIKE = {
    "id": "s1", "time_start": "2025-09-06T17:00:00+03:00", "time_end": "2025-09-07T09:30:00+03:00",
    "model": "Shahed-136/131", "launched": 810, "destroyed": 747, "source": "kpszsu/posts/x",
}


def test_times_must_carry_a_zone() -> None:
    with pytest.raises(ValidationError, match="published_at"):
        NewsItem.model_validate({**NEWS, "published_at": "2026-02-17T07:30:00"})


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", ""), ("title", "x" * 1_001), ("body", "x" * 20_001), ("id", "has space"), ("lang", "de")],
)
def test_news_text_is_bounded(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match=field):
        NewsItem.model_validate({**NEWS, field: value})


def test_counts_are_non_negative_and_the_window_ordered() -> None:
    with pytest.raises(ValidationError, match="launched"):
        StrikeReport.model_validate({**STRIKE, "launched": -1})
    with pytest.raises(ValidationError, match="time_end is before time_start"):
        StrikeReport.model_validate({**STRIKE, "time_end": "2025-09-06T10:00:00+03:00"})
    with pytest.raises(ValidationError, match="destroyed exceeds launched"):
        StrikeReport.model_validate({**STRIKE, "destroyed": 900})


def test_counts_have_upper_bounds() -> None:
    """A report of 10^18 drones once reached a subscriber: counts beyond `MAX_REPORTED` are refused."""
    assert StrikeReport.model_validate({**STRIKE, "launched": MAX_REPORTED}).launched == MAX_REPORTED
    for field in ("launched", "destroyed", "not_reach_goal", "still_attacking", "hit_locations"):
        with pytest.raises(ValidationError, match=field):
            StrikeReport.model_validate({**STRIKE, "destroyed": None, field: 10**18})


@pytest.mark.parametrize("hidden", ["\x00", "\x1b", "\u202e", "\u2066", "\x7f", "\x9b"])
def test_control_characters_are_stripped_from_feed_text(hidden: str) -> None:
    item = NewsItem.model_validate({**NEWS, "title": f"Talks{hidden} open", "source": f"wi{hidden}re"})
    assert item.title == "Talks open"
    assert item.source == "wire"
    report = StrikeReport.model_validate({**STRIKE, "affected_regions": [f"Kyiv{hidden}"]})
    assert report.affected_regions == ["Kyiv"]


def test_tabs_and_newlines_stay_and_text_of_only_controls_is_refused() -> None:
    assert NewsItem.model_validate({**NEWS, "body": "one\ttwo\nthree"}).body == "one\ttwo\nthree"
    with pytest.raises(ValidationError, match="only control characters"):
        NewsItem.model_validate({**NEWS, "title": "\x00\x1b\u202e"})


def test_feeds_ignore_unknown_fields_but_salvo_topics_refuse_them() -> None:
    assert NewsItem.model_validate({**NEWS, "new_column": 1}).title == "Talks open in Geneva"
    assert StrikeReport.model_validate({**STRIKE, "turbojet": "yes"}).launched == 810
    with pytest.raises(ValidationError, match="extra"):
        Alert.model_validate(
            {"id": "a", "rule_id": "r", "severity": "info", "title": "t", "starts_at": NEWS["published_at"], "x": 1}
        )


def test_an_event_needs_its_event_time_and_category() -> None:
    with pytest.raises(ValidationError) as info:
        ClassifiedEvent.model_validate({"id": "e", "feed": "news", "source": "s", "title": "t"})
    missing = {".".join(map(str, err["loc"])) for err in info.value.errors()}
    assert {"occurred_at", "ingested_at", "category", "confidence", "lang"} <= missing


def test_dead_letter_keeps_the_original_bytes() -> None:
    raw = b"\xff\xfe not json"
    letter = DeadLetter.of(
        raw, topic="news.raw", partition=1, offset=7, key=b"k", reason=RejectReason.MALFORMED, error="bad",
        stage="ingest", received_at="2026-01-01T00:00:00Z",
    )
    again = DeadLetter.model_validate_json(letter.model_dump_json())
    assert again.value == raw and again.offset == 7 and again.reason is RejectReason.MALFORMED


def test_a_dead_letter_always_fits_keeping_a_prefix_with_size_and_digest() -> None:
    raw = b"x" * (5 * 1024 * 1024)
    letter = DeadLetter.of(raw, topic="news.raw", reason=RejectReason.OVERSIZED, error="too big", stage="ingest",
                           received_at="2026-01-01T00:00:00Z")
    assert len(letter.model_dump_json()) < 100_000
    assert letter.truncated and letter.value == raw[:MAX_KEPT_BYTES] and letter.value_size == len(raw)
    assert letter.value_sha256 == hashlib.sha256(raw).hexdigest()
    small = DeadLetter.of(b"{}", topic="t", reason=RejectReason.SCHEMA, error="e", stage="ingest",
                          received_at="2026-01-01T00:00:00Z")
    assert not small.truncated and small.value == b"{}"


def test_export_writes_one_valid_schema_per_topic(tmp_path: Path) -> None:
    written = export_json_schemas(tmp_path)
    assert len(written) == len(TOPIC_CONTRACTS)
    news = json.loads((tmp_path / "NewsItem.schema.json").read_text())
    assert {"id", "source", "published_at", "title"} <= set(news["required"])
    assert all(json.loads(path.read_text())["$comment"].startswith("Salvo topic ") for path in written)
