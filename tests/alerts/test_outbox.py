"""The outbox's input position: kept beside the entries, never mistaken for one."""

from __future__ import annotations

from alerts.outbox import POSITION, Outbox


def test_the_position_is_recorded_per_partition_and_is_not_an_entry() -> None:
    store: dict[str, object] = {}
    outbox = Outbox(store)
    assert outbox.position() == {}
    outbox.handled("alerts/0", 41)
    outbox.handled("alerts/0", 42)
    assert outbox.position() == {"alerts/0": 42} and POSITION in store
    assert list(outbox.entries()) == []
