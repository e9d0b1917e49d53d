"""Batch state: one log record per batch, and a crash at any point of the changelog loses and repeats nothing.

The crash test plays the live worker's order of writes (alerts acknowledged, then the batch's changelog
records) over real strike rows, cuts the changelog at every record boundary as a kill -9 could, recovers
from the prefix, resumes from the recovered offsets, and compares every alert version with an uninterrupted
run of the same events.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from alerts.backtest import BacktestResult, load_events
from alerts.engine import RuleEngine
from alerts.rules import default_rules
from alerts.state import ABSENT, FLUSHED, WAL, BatchState, write
from schemas import Alert, ClassifiedEvent
from tests.alerts.fixtures import JsonTable

SAMPLE = Path(__file__).parent / "testdata" / "strikes_2025-07-01_2025-09-12.csv"
INPUT = "events.classified/0"


class Changelog(JsonTable):
    """A table that also keeps every write in order, as its changelog topic does."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, Any]] = []

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.log.append((key, value))

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.log.append((key, None))


def restored(log: list[tuple[str, Any]]) -> Changelog:
    """The table recovery builds from a changelog prefix: the latest value per key, tombstones removed."""
    table = Changelog()
    for key, value in log:
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    table.log.clear()
    return table


def _events() -> list[ClassifiedEvent]:
    return load_events([SAMPLE], result=BacktestResult())


def _run(events: list[ClassifiedEvent], table: Any, *, sizes: random.Random, stop_after: int | None = None,
         topic: list[tuple[int, Alert]] | None = None) -> list[Alert]:
    """Process `events` (offset = index) in random batches the way the rules stage does; the alerts
    published, each tagged with the changelog length at which it became durable."""
    state = BatchState(table, ring=4)
    engine = RuleEngine(default_rules(), state)
    out = [] if topic is None else topic
    offset = 0
    while offset < len(events):
        batch = range(offset, min(offset + sizes.randint(1, 40), len(events)))
        applied = {}
        for i in batch:
            if state.applied(INPUT, i):
                continue
            applied[INPUT] = i
            with state.savepoint():
                found = engine.advance(events[i].occurred_at)
                outcome = engine.process(events[i])
            assert not outcome.duplicate, f"event {i} was applied twice"  # the sample has no repeats
            found += outcome.alerts
            out += [(len(table.log), alert) for alert in found]
        write(table, state.commit(applied))
        offset = batch.stop
        if stop_after is not None and len(table.log) >= stop_after:
            break
    return [alert for _, alert in out]


def test_a_batch_is_one_record_and_a_checkpoint_comes_every_ring_batches() -> None:
    table = Changelog()
    state = BatchState(table, ring=4)
    for n in range(1, 9):
        state[f"k{n}"] = n
        write(table, state.commit({INPUT: n}))
    keys = [key for key, _ in table.log]
    assert keys[:3] == [f"{WAL}1", f"{WAL}2", f"{WAL}3"]
    assert keys[3:9] == [f"{WAL}0", "k1", "k2", "k3", "k4", FLUSHED]
    assert table[FLUSHED] == {"seq": 8, "offsets": {INPUT: 8}}
    assert state.commit({INPUT: 9}) == []  # nothing changed: nothing to write


def test_reads_go_through_and_a_savepoint_undoes_a_failed_event() -> None:
    table = JsonTable()
    table["kept"] = {"n": 1}
    state = BatchState(table)
    state["new"] = 2
    with pytest.raises(RuntimeError), state.savepoint():
        state["new"] = 3
        del state["kept"]
        raise RuntimeError("the event failed half-way")
    assert state["kept"] == {"n": 1} and state["new"] == 2
    del state["kept"]
    assert "kept" not in state and sorted(state) == ["new"] and "kept" in table  # not written back yet
    write(table, state.commit({INPUT: 0}))
    assert dict(BatchState(table).items()) == {"new": 2}


def test_write_skips_deleting_a_key_the_table_never_had() -> None:
    table = Changelog()
    write(table, [("gone", ABSENT), ("here", 1)])
    assert table.log == [("here", 1)]


def test_batched_live_state_gives_the_backtest_alerts_byte_for_byte() -> None:
    events = _events()
    reference = RuleEngine(default_rules(), {})
    expected = [a for e in events for a in reference.advance(e.occurred_at) + reference.process(e).alerts]
    got = _run(events, Changelog(), sizes=random.Random(1))
    assert [a.model_dump_json() for a in got] == [a.model_dump_json() for a in expected]


@pytest.mark.parametrize("seed", [3, 11])
def test_a_crash_at_any_changelog_record_loses_and_alters_no_alert(seed: int) -> None:
    events = _events()
    full = Changelog()
    topic: list[tuple[int, Alert]] = []
    _run(events, full, sizes=random.Random(seed), topic=topic)
    expected = {(a.id, a.version): a.model_dump_json() for _, a in topic}
    cuts = sorted(random.Random(seed).sample(range(len(full.log)), 60))
    for cut in cuts:
        # Durable at the crash: the changelog's first `cut` records, and the alerts published before them. The
        # alerts of the batch whose log record is record `cut` may or may not have been acknowledged yet.
        surely = [alert for at, alert in topic if at < cut]
        maybe = [alert for at, alert in topic if at <= cut]
        after = _run(events, restored(full.log[:cut]), sizes=random.Random(seed + cut))
        seen: dict[tuple[str, int], str] = {}
        for alert in maybe + after:
            body = alert.model_dump_json()
            assert seen.setdefault((alert.id, alert.version), body) == body, f"altered by a crash at {cut}"
        assert {(a.id, a.version) for a in surely + after} == expected.keys(), f"lost by a crash at {cut}"
        assert seen == expected


def test_a_reset_state_is_empty_and_stays_empty_after_recovery_from_every_prefix_of_its_writes() -> None:
    """After the broker lost the records a state was built on (streams.worker.rewind): the reset's writes,
    cut at any point as a crash would, recover either to the old offsets (so the next start resets again)
    or to nothing at all; never to a state that has some keys but no offsets."""
    table: dict[str, Any] = {}
    state = BatchState(table, ring=4)
    for offset in range(10):  # past a checkpoint, with logged batches after it
        state[f"k{offset}"] = offset
        write(table, state.commit({"events/0": offset}))
    writes = BatchState(dict(table), ring=4).reset()
    for cut in range(len(writes) + 1):
        crashed = dict(table)
        write(crashed, writes[:cut])
        recovered = BatchState(crashed, ring=4)
        assert recovered.offsets == {"events/0": 9} or (recovered.offsets == {} and not list(recovered))
    write(table, writes)
    assert BatchState(table, ring=4).offsets == {} and not list(BatchState(table, ring=4))
