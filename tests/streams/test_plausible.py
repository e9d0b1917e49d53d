"""Event times Salvo believes: the floor and the skew ahead of the clock, in files as in the worker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.backtest import run_backtest
from alerts.rules import default_rules
from streams.plausible import TimeBounds
from streams.sources import read_feeds

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BOUNDS = TimeBounds(floor=datetime(2000, 1, 1, tzinfo=UTC), ahead=timedelta(hours=1))


def test_a_time_past_the_skew_or_before_the_floor_is_refused_and_says_which() -> None:
    assert BOUNDS.refusal(NOW + timedelta(minutes=59), now=NOW) is None
    assert BOUNDS.refusal(datetime(2000, 1, 1, tzinfo=UTC), now=NOW) is None
    ahead = BOUNDS.refusal(datetime(9999, 1, 1, tzinfo=UTC), now=NOW)
    assert ahead is not None and "ahead of the clock" in ahead and "9999" in ahead
    before = BOUNDS.refusal(datetime(1970, 1, 1, tzinfo=UTC), now=NOW)
    assert before is not None and "before the floor" in before


def _news(tmp_path: Path, dates: list[str]) -> Path:
    path = tmp_path / "news.jsonl"
    path.write_text("".join(json.dumps({"id": f"n{i}", "source": "wire", "published_at": when,
                                        "title": "Russia launched 400 drones at Kyiv overnight"}) + "\n"
                            for i, when in enumerate(dates)))
    return path


def test_files_refuse_what_the_worker_refuses_with_file_and_line(tmp_path: Path) -> None:
    path = _news(tmp_path, ["2025-08-11T05:00:00+03:00", "9999-01-01T00:00:00Z", "1970-01-01T00:00:00Z"])
    feed = read_feeds([path], bounds=BOUNDS, now=NOW)
    assert [item.id for _, _, item in feed.items] == ["n0"]
    assert [(r.line, r.reason.split(":")[0]) for r in feed.rejected] == [(2, "implausible_time"),
                                                                       (3, "implausible_time")]
    # without a clock only the floor applies: the file alone cannot say what "ahead" is
    assert [item.id for _, _, item in read_feeds([path], bounds=BOUNDS).items] == ["n0", "n1"]


def test_a_year_9999_item_cannot_silence_the_backtest(tmp_path: Path) -> None:
    """The live case is tests/e2e/test_hostile_input.py; here the backtest drops the same item."""
    dates = ["2025-08-11T05:00:00+03:00", "9999-01-01T00:00:00Z", "2025-08-12T05:00:00+03:00"]
    result = run_backtest([_news(tmp_path, dates)], default_rules(), bounds=BOUNDS, now=NOW)
    assert not result.late and [r.line for r in result.rejected] == [2]
