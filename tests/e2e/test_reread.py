"""Records the consumer fetched and faust dropped are read again, even when nothing arrives after them.

faust drops fetched records in several places and counts on the next rebalance to read them again
(`streams.worker.reread`). A CI run of test_crash_exact.py caught the result: a worker restarted after kill -9,
ready and assigned, never handled the last 6 raw records of the replay, and an alert version was lost. This
test makes faust drop the last two records of a partition on purpose (`faults/sitecustomize.py`): with no
record above them, no hole is ever seen, and only the stall check (`InOrder.stalled`) reads them again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from schemas import StrikeReport
from streams import topics
from streams.producer import FeedProducer
from streams.reader import TopicReader
from streams.settings import SalvoSettings
from tests.conftest import StartWorker

pytestmark = pytest.mark.broker

FAULTS = Path(__file__).with_name("faults")
IDS = [f"reread-{n}" for n in range(4)]


def report(rid: str, night: int) -> StrikeReport:
    return StrikeReport(
        id=rid, time_start=f"2025-08-{night:02d}T20:00:00+03:00", time_end=f"2025-08-{night:02d}T23:00:00+03:00",
        model="Shahed-136/131", launched=50, source="kpszsu/test",
    )


def classified(settings: SalvoSettings, ids: list[str], timeout_s: float) -> set[str]:
    """Which of these report ids reached `events.classified` within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    found: set[str] = set()
    with TopicReader(settings, [topics.EVENTS]) as reader:
        while len(found) < len(ids) and time.monotonic() < deadline:
            found |= {rid for r in reader.poll(1) if r.value is not None for rid in ids if rid.encode() in r.value}
    return found


def rereads(settings: SalvoSettings, why: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("salvo_partition_rereads_total{") and f'why="{why}"' in line)


def test_the_last_records_faust_dropped_are_read_again_without_a_rebalance(
    salvo_settings: SalvoSettings, start_worker: StartWorker, tmp_path: Path
) -> None:
    path = os.pathsep.join(p for p in (str(FAULTS), os.environ.get("PYTHONPATH")) if p)
    start_worker(salvo_settings, env={"PYTHONPATH": path, "SALVO_TEST_DROP_FETCHED": f"{topics.STRIKES_RAW}:2-3"})
    with FeedProducer(salvo_settings) as producer:
        for night, rid in enumerate(IDS, start=1):
            producer.send(report(rid, night), partition=0)

    found = classified(salvo_settings, IDS, timeout_s=40)
    log = (tmp_path / "worker-0.log").read_text()
    assert log.count("fault: dropped fetched") == 2, "the fault must land, or this test proves nothing"
    assert found == set(IDS), f"never classified: {sorted(set(IDS) - found)}"
    assert rereads(salvo_settings, "stall") >= 1
    assert "delivered nothing for" in log, "a stall is a warning: records were dropped"
