"""The outbox: its input position, kept beside the entries and never mistaken for one, and superseding."""

from __future__ import annotations

from alerts.outbox import POSITION, Outbox, OutboxEntry
from schemas.delivery import DeliveryRequest
from tests.alerts.conftest import T0, make_alert


def test_the_position_is_recorded_per_partition_and_is_not_an_entry() -> None:
    store: dict[str, object] = {}
    outbox = Outbox(store)
    assert outbox.position() == {}
    outbox.handled("alerts/0", 41)
    outbox.handled("alerts/0", 42)
    assert outbox.position() == {"alerts/0": 42} and POSITION in store
    assert list(outbox.entries()) == []


def test_a_newer_version_supersedes_only_older_versions_of_its_alert_for_its_subscription() -> None:
    outbox = Outbox({})

    def enqueue(subscription: str, **alert: object) -> OutboxEntry:
        request = DeliveryRequest(alert=make_alert(**alert), subscription=subscription)
        return outbox.enqueue(request, channel="webhook", now=T0)[0]

    v1, other_sub, other_alert = enqueue("ops"), enqueue("desk"), enqueue("ops", id="other")
    v2 = enqueue("ops", version=2, status="updated")
    assert not any(entry.superseded for entry in outbox.entries())  # enqueueing alone marks nothing
    outbox.supersede_older(v2)
    marked = {entry.key for entry in outbox.entries() if entry.superseded}
    assert marked == {v1.key} and {other_sub.key, other_alert.key, v2.key}.isdisjoint(marked)
