"""File readers: the real strike CSV's quirks, news exports under common column names, bad rows with lines."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from schemas import NewsItem, StrikeReport
from streams.sources import KYIV, FileRejection, read_file, strike_time

SAMPLE = Path(__file__).parents[1] / "alerts" / "testdata" / "strikes_2025-07-01_2025-09-12.csv"
HEADER = ("time_start,time_end,model,launch_place,target,target_main,launched,destroyed,not_reach_goal,"
          "still_attacking,border_crossing,is_shahed,num_hit_location,num_fall_fragment_location,carrier,turbojet,"
          "turbojet_destroyed,affected region,destroyed_details,launched_details,launch_place_details,source")


def test_strike_times_are_kyiv_local_in_every_format_of_the_file() -> None:
    assert strike_time("2025-09-07 09:30") == datetime(2025, 9, 7, 9, 30, tzinfo=KYIV)
    assert strike_time("2023-05-16 3:30") == datetime(2023, 5, 16, 3, 30, tzinfo=KYIV)
    assert strike_time("2025-09-07") == datetime(2025, 9, 7, tzinfo=KYIV)
    assert strike_time("2025-09-07 09:30").utcoffset().total_seconds() == 3 * 3600  # summer time


def test_the_sample_reads_without_rejections_and_keeps_the_810_drone_night() -> None:
    rows = list(read_file(SAMPLE))
    assert len(rows) == 269 and not [r for _, r in rows if isinstance(r, FileRejection)]
    night = [r for _, r in rows if isinstance(r, StrikeReport) and r.launched == 810]
    assert len(night) == 1
    report = night[0]
    assert report.time_end == datetime(2025, 9, 7, 9, 30, tzinfo=KYIV) and report.destroyed == 747
    assert "Kyiv oblast" in report.affected_regions and report.source.startswith("kpszsu/posts/")
    assert report.id.startswith("kpszsu-") and report.id == next(
        r for _, r in read_file(SAMPLE) if isinstance(r, StrikeReport) and r.launched == 810).id


def test_bad_rows_are_rejected_with_file_and_line_and_the_rest_still_read(tmp_path: Path) -> None:
    path = tmp_path / "strikes.csv"
    good = "2025-09-06 17:00,2025-09-07 09:30,Shahed-136/131,,Ukraine,,810.0,747.0" + "," * 14 + "kpszsu/posts/x"
    path.write_text("\n".join([HEADER, good, good.replace("2025-09-07 09:30", "yesterday"),
                               good.replace("747.0", "-5.0"), good.replace(",kpszsu", "kpszsu"), good]) + "\n")
    rows = list(read_file(path))
    assert [n for n, r in rows if isinstance(r, StrikeReport)] == [2, 6]
    rejected = [r for _, r in rows if isinstance(r, FileRejection)]
    assert [(r.line, r.reason.split(":")[0]) for r in rejected] == [
        (3, "ValueError"), (4, "destroyed"), (5, "row and header have different numbers of fields")]
    assert str(rejected[0]).startswith(f"{path}:3: ")


def test_news_jsonl_and_csv_under_common_column_names(tmp_path: Path) -> None:
    jsonl = tmp_path / "warline.jsonl"
    jsonl.write_text('{"full_date": "2/24/2022", "time": "05:45", "twitter_username": "BBCNews", '
                     '"headline": "Russia announces operation", "description_en": "Body."}\n{broken\n')
    rows = list(read_file(jsonl))
    item = rows[0][1]
    assert isinstance(item, NewsItem) and item.source == "BBCNews" and item.body == "Body."
    assert item.published_at.isoformat() == "2022-02-24T05:45:00+00:00"
    assert isinstance(rows[1][1], FileRejection) and rows[1][0] == 2
    csv_file = tmp_path / "guardian.csv"
    csv_file.write_text(',date,timestamp,heading,url\n0,13 March 2022,7:14 PM,"Talks resume, ceasefire",https://x\n')
    (line, news), = list(read_file(csv_file))
    assert line == 2 and isinstance(news, NewsItem) and news.title == "Talks resume, ceasefire"
    # the URL is kept in its normalised form (schemas.base.web_url)
    assert news.published_at.isoformat() == "2022-03-13T19:14:00+00:00" and news.url == "https://x/"


def test_every_real_strike_row_is_accepted(shared_data: Path) -> None:
    rows = list(read_file(shared_data / "strikes" / "missile_attacks_daily.csv"))
    assert len(rows) == 3770
    assert [r for _, r in rows if isinstance(r, FileRejection)] == []


@pytest.mark.parametrize("name", ["warline_2022.jsonl", "guardian_headlines_2022.csv",
                                  "ukrwarreport_tweets_2022.tsv", "gdelt_articles_2022_2024.jsonl"])
def test_real_news_files_read_without_rejections(shared_data: Path, name: str) -> None:
    rows = list(read_file(shared_data / "news" / name))
    assert rows and [r for _, r in rows if isinstance(r, FileRejection)] == []


def test_a_forced_format_reads_a_file_as_that_feed(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("date,title\n2022-03-13,Talks resume\n")
    assert isinstance(next(read_file(path))[1], NewsItem)
    (line, forced), = list(read_file(path, file_format="strikes-csv"))
    assert line == 2 and isinstance(forced, FileRejection) and "time_start" in forced.reason
