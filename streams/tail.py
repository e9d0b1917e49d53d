"""One readable line per record of Salvo's topics: what `salvo tail` and the demo print as the pipeline runs."""

from __future__ import annotations

from schemas import Alert, ClassifiedEvent, DeadLetter
from schemas.delivery import DeliveryRecord
from streams import topics
from streams.reader import Record

WATCHED = (topics.EVENTS, topics.EVENTS_LATE, topics.ALERTS, topics.DELIVERY_LOG, topics.DEADLETTER)
_COLOURS = {"critical": "red", "warning": "yellow"}


def _summary(event: ClassifiedEvent) -> str:
    facts = event.facts
    numbers = ", ".join(f"{name}={n}" for name, n in (("drones", facts.drones), ("missiles", facts.missiles)) if n)
    subtypes = "/".join(event.subtypes) or "-"
    return f"{event.category:<9} {subtypes:<28} {numbers:<24} {event.title[:70]}"


def _event(value: bytes) -> str:
    return f"[cyan]event[/]  {_summary(ClassifiedEvent.model_validate_json(value))}"


def _late(value: bytes) -> str:
    """A late event: it came behind the rules' watermark, so it counted in no window; its event time says why."""
    event = ClassifiedEvent.model_validate_json(value)
    return (f"[yellow]late[/]   {_summary(event)} occurred {event.occurred_at.isoformat()}, "
            f"from {event.origin or event.feed}")


def _alert(value: bytes) -> str:
    alert = Alert.model_validate_json(value)
    colour = _COLOURS.get(alert.severity, "blue")
    replay = f" [dim](replay {alert.replay.label})[/]" if alert.replay else ""
    head = f"[{colour}]ALERT[/]  {alert.severity:<8} {alert.rule_id} v{alert.version} {alert.status}"
    return f"{head}: {alert.title}{replay}"


def _delivery(value: bytes) -> str:
    record = DeliveryRecord.model_validate_json(value)
    colour = "green" if record.status == "delivered" else "yellow"
    detail = f" ({record.error[:80]})" if record.error else ""
    return f"[{colour}]{record.status}[/] {record.idempotency_key} → {record.subscription} via {record.channel}{detail}"


def _dead(value: bytes) -> str:
    letter = DeadLetter.model_validate_json(value)
    return f"[magenta]dead letter[/] {letter.topic}@{letter.offset} {letter.reason}: {letter.error[:100]}"


_RENDERERS = {topics.EVENTS: _event, topics.EVENTS_LATE: _late, topics.ALERTS: _alert,
              topics.DELIVERY_LOG: _delivery, topics.DEADLETTER: _dead}


def render(record: Record) -> str | None:
    """The line for a record (rich markup), or None for topics and values this view does not show."""
    renderer = _RENDERERS.get(record.topic)
    return renderer(record.value) if renderer is not None and record.value else None
