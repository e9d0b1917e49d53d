"""InOrder: each partition's records are handled in offset order; a hole is re-read, never skipped."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from faust.types import TP

from streams.worker.batches import InOrder

A, B = TP("raw", 0), TP("raw", 1)


def records(tp: TP, *offsets: int) -> list[Any]:
    """Stand-ins for faust events: only `message.tp` and `message.offset` are read."""
    return [SimpleNamespace(message=SimpleNamespace(tp=tp, offset=o)) for o in offsets]


def offsets(events: list[Any]) -> list[int]:
    return [e.message.offset for e in events]


def handled(order: InOrder, events: list[Any]) -> None:
    """A batch through `order` as the agent takes it: admitted, then settled."""
    order.admit(events)
    order.settled(events)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_in_order_records_are_processed_and_re_reads_are_acked_without_processing() -> None:
    order = InOrder()
    assert offsets(order.admit(records(A, 5, 6, 7)).process) == [5, 6, 7]
    again = order.admit(records(A, 6, 7, 8))  # sent back to the committed offset after a rebalance
    assert offsets(again.done) == [6, 7] and offsets(again.process) == [8] and not again.seek


def test_a_hole_seeks_back_and_holds_the_partition_until_the_missing_record_comes() -> None:
    clock = Clock()
    order = InOrder(clock=clock, reseek_s=1)
    order.admit(records(A, 10))
    holed = order.admit(records(A, 12, 13) + records(B, 0))
    assert holed.seek == {A: 11} and offsets(holed.process) == [0] and not holed.done
    clock.now = 0.5
    stale = order.admit(records(A, 14))  # fetched before the seek: still held, no second seek yet
    assert not stale.process and not stale.seek
    clock.now = 1.5
    assert order.admit(records(A, 15)).seek == {A: 11}  # the hole stays: read again
    back = order.admit(records(A, 11, 12, 13))
    assert offsets(back.process) == [11, 12, 13] and not back.seek


def test_a_hole_that_never_fills_is_taken_as_real_after_a_while() -> None:
    clock = Clock()
    order = InOrder(clock=clock, accept_after_s=5)
    order.admit(records(A, 0))
    assert order.admit(records(A, 3)).seek == {A: 1}
    clock.now = 6
    assert offsets(order.admit(records(A, 3, 4)).process) == [3, 4]


def test_the_rules_resume_from_their_state_and_partitions_given_away_are_forgotten() -> None:
    order = InOrder()
    order.resume({A: 100})
    committed_behind = order.admit(records(A, 97, 98, 99, 100))
    assert offsets(committed_behind.done) == [97, 98, 99] and offsets(committed_behind.process) == [100]
    assert order.admit(records(A, 105)).seek == {A: 101}  # faust committed past the state: read from it
    order.admit(records(B, 7))
    order.retain({B})
    assert offsets(order.admit(records(A, 50)).process) == [50]


def test_stale_arrivals_seek_again_at_most_every_reseek_interval() -> None:
    clock = Clock()
    order = InOrder(clock=clock, reseek_s=0.0)
    order.admit(records(A, 0))
    assert [order.admit(records(A, n)).seek for n in (3, 4)] == [{A: 1}, {A: 1}]
    throttled = InOrder(clock=clock)  # the default: a seek restarts the fetch, so not on every arrival
    throttled.admit(records(A, 0))
    assert [throttled.admit(records(A, n)).seek for n in (3, 4)] == [{A: 1}, {}]
    clock.now = 2.0
    assert throttled.admit(records(A, 5)).seek == {A: 1}


def test_records_left_out_during_a_rebalance_are_read_again_when_the_partition_comes_back() -> None:
    order = InOrder()
    for offset in (10, 11, 12):  # a fresh worker: fetched while the partition was not held, so left out
        order.left_out(A, offset)
    order.retain({A})  # the rebalance gives the partition back to this worker
    later = order.admit(records(A, 13, 14))
    assert not later.process and later.seek == {A: 10}, "the next record must not start the partition"
    again = order.admit(records(A, 10, 11, 12, 13))  # read again from the committed offset
    assert offsets(again.process) == [10, 11, 12, 13] and not again.done


def test_an_open_hole_is_sought_again_on_the_clock_even_when_nothing_arrives() -> None:
    clock = Clock()
    order = InOrder(clock=clock, reseek_s=1.0)
    order.admit(records(A, 0, 1))
    assert order.admit(records(A, 5)).seek == {A: 2}  # the hole opens: sought at once
    assert order.stuck() == {}, "not again within the interval"
    clock.now = 1.0
    assert order.stuck() == {A: 2}, "the re-read was dropped and nothing else came: seek again"
    assert order.stuck() == {}
    order.admit(records(A, 2, 3, 4, 5))
    clock.now = 5.0
    assert order.stuck() == {}, "a filled hole is not sought"


def test_records_the_consumer_went_past_without_delivering_are_read_again_after_the_stall_time() -> None:
    clock = Clock()
    order = InOrder(clock=clock, stall_s=5.0)
    handled(order, records(A, 0, 1, 2))  # expects 3 next
    assert order.stalled({A: 6}) == {}, "the clock starts at the first look"
    clock.now = 4.9
    assert order.stalled({A: 6}) == {}
    clock.now = 5.0
    assert order.stalled({A: 6}) == {A: 3}, "fetched past 3, nothing delivered for 5 s: read again from 3"
    clock.now = 9.0
    assert order.stalled({A: 6}) == {}, "at most once per stall time"
    clock.now = 10.0
    assert order.stalled({A: 6}) == {A: 3}
    handled(order, records(A, 3, 4, 5))
    clock.now = 20.0
    assert order.stalled({A: 6}) == {}, "caught up: the consumer is not past the expected offset"


def test_a_partition_with_a_hole_or_no_expectation_or_a_batch_in_hand_is_not_a_stall() -> None:
    clock = Clock()
    order = InOrder(clock=clock, stall_s=1.0)
    handled(order, records(A, 0))
    handled(order, records(A, 4))  # a hole at 1: `stuck` seeks it, not `stalled`
    busy = records(B, 0)
    order.admit(busy)  # a batch the handler still holds
    order.stalled({A: 9, B: 9, TP("raw", 2): 9})
    clock.now = 3.0
    assert order.stalled({A: 9, B: 9, TP("raw", 2): 9}) == {}, "a slow batch is not a stall"
    order.settled(busy)
    clock.now = 3.5
    assert order.stalled({A: 9, B: 9, TP("raw", 2): 9}) == {}, "B's clock starts when its batch settles"
    clock.now = 4.0
    assert order.stalled({A: 9, B: 9, TP("raw", 2): 9}) == {B: 1}, "A has a hole, raw/2 no expectation"


def test_a_wait_nothing_could_arrive_in_is_not_taken_for_a_stall() -> None:
    clock = Clock()
    order = InOrder(clock=clock, stall_s=5.0)
    handled(order, records(A, 0))
    clock.now = 4.0
    order.unwatched()  # a rebalance or recovery from 4 s to 8 s: nothing can arrive
    clock.now = 8.0
    assert order.stalled({A: 3}) == {}, "the clock restarted when the wait began"
    clock.now = 9.0
    assert order.stalled({A: 3}) == {A: 1}
