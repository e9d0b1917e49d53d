"""Silences: bounded, visible mutes of the alerts that match every matcher, for every subscriber.

Like Alertmanager's silences they never delete anything: a silenced delivery is logged as `silenced` with
the silence id, so an operator can see what was muted and by whom.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from schemas.alert import Alert
from schemas.delivery import Matcher, Silence


def alert_values(alert: Alert, name: str) -> list[str]:
    """The values an alert has for a matcher name: facts and fields by name, otherwise its labels."""
    match name:
        case "region":
            return list(alert.facts.regions)
        case "subtype":
            return list(alert.subtypes)
        case "category":
            return [alert.category] if alert.category else []
        case "severity" | "rule_id" | "id" | "status":
            return [str(getattr(alert, name))]
        case _:
            value = alert.labels.get(name)
            return [value] if value is not None else []


def matcher_matches(matcher: Matcher, alert: Alert) -> bool:
    """`=` and `=~` need one value to match; `!=` needs none to equal (so an absent value passes)."""
    values = alert_values(alert, matcher.name)
    if matcher.op == "=":
        return matcher.value in values
    if matcher.op == "!=":
        return matcher.value not in values
    pattern = re.compile(matcher.value)
    return any(pattern.fullmatch(value) for value in values)


def silencing(alert: Alert, silences: Iterable[Silence], *, now: datetime) -> Silence | None:
    """The first active silence whose matchers all match the alert, or None."""
    for silence in silences:
        if silence.active(now) and all(matcher_matches(m, alert) for m in silence.matchers):
            return silence
    return None


def new_silence(
    matchers: list[Matcher],
    *,
    duration: timedelta,
    comment: str,
    now: datetime,
    created_by: str = "salvo",
) -> Silence:
    """A silence starting now; its id is random so two people silencing the same thing both stay visible."""
    return Silence(
        id=uuid.uuid4().hex[:12],
        matchers=matchers,
        starts_at=now,
        ends_at=now + duration,
        created_by=created_by,
        comment=comment,
    )


def expire(silence: Silence, *, now: datetime) -> Silence:
    """The silence ended now (kept, not deleted, so the record of the mute stays)."""
    ends = max(now, silence.starts_at + timedelta(microseconds=1))
    return silence.model_copy(update={"ends_at": ends})


_DURATION = re.compile(r"(\d+)([smhd])")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """`90m`, `2h`, `1d12h` → timedelta; a ValueError names the input otherwise."""
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"duration {text!r}: use e.g. 30m, 2h or 1d12h")
    total = timedelta()
    for number, unit in parts:
        total += timedelta(**{_UNIT[unit]: int(number)})
    return total
