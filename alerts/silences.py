"""Silences: bounded, visible mutes of the alerts that match every matcher, for every subscriber.

Like Alertmanager's silences they never delete anything: a silenced delivery is logged as `silenced` with
the silence id, so an operator can see what was muted and by whom.

An alert can name several regions, where an Alertmanager label has one value. A silence is asked for with
one place in mind ("the Kharkiv drill"), so `region=` and `region=~` match an alert only when every region
it names matches: `region=Kharkiv` mutes an alert about Kharkiv, not the 810-drone night over nine regions
that includes it. A silence that says `spanning` also mutes alerts that name other regions besides
(measured before: `silence add --match region=Kharkiv` muted that night's critical alert for everyone).

Matchers are checked when a silence is made (`check_matchers`): a misspelled name (`regoin=`) or a value no
alert can have (`severity=urgent`) would otherwise mute nothing and look like it worked.
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta
from typing import get_args

from schemas.alert import Alert, AlertStatus
from schemas.base import Category, Severity
from schemas.delivery import Matcher, Silence


def _field(name: str) -> Callable[[Alert], list[str]]:
    return lambda alert: [str(getattr(alert, name))]


# The alert fields a matcher can name, with their values: facts and fields by name (labels are the rest)
_FIELDS: dict[str, Callable[[Alert], list[str]]] = {
    "region": lambda alert: list(alert.facts.regions),
    "subtype": lambda alert: list(alert.subtypes),
    "category": lambda alert: [alert.category] if alert.category else [],
    **{name: _field(name) for name in ("severity", "rule_id", "id", "status")},
}
# Fields with a closed set of values, from the contracts, so a matcher no alert can meet is refused
_VOCABULARY: dict[str, tuple[str, ...]] = {
    "severity": get_args(Severity),
    "status": get_args(AlertStatus),
    "category": get_args(Category),
}


def alert_values(alert: Alert, name: str) -> list[str]:
    """The values an alert has for a matcher name: facts and fields by name, otherwise its labels."""
    field = _FIELDS.get(name)
    if field is not None:
        return field(alert)
    value = alert.labels.get(name)
    return [value] if value is not None else []


def matcher_matches(matcher: Matcher, alert: Alert, *, spanning: bool = False) -> bool:
    """`=` and `=~` need one value to match, and for regions every value unless `spanning` (module doc);
    `!=` needs none to equal (so an absent value passes)."""
    values = alert_values(alert, matcher.name)
    if matcher.op == "!=":
        return matcher.value not in values
    if matcher.op == "=":
        hit = [value == matcher.value for value in values]
    else:
        pattern = re.compile(matcher.value)
        hit = [pattern.fullmatch(value) is not None for value in values]
    if matcher.name == "region" and not spanning:
        return bool(hit) and all(hit)
    return any(hit)


def silencing(alert: Alert, silences: Iterable[Silence], *, now: datetime) -> Silence | None:
    """The first active silence whose matchers all match the alert, or None."""
    for silence in silences:
        if silence.active(now) and all(matcher_matches(m, alert, spanning=silence.spanning)
                                       for m in silence.matchers):
            return silence
    return None


def check_matchers(matchers: Iterable[Matcher], *, labels: Collection[str]) -> list[str]:
    """What is wrong with these matchers, one line each (empty when nothing is).

    :param labels: the label names the loaded rules give their alerts (`kind` and each rule's `labels`).
    """
    known = [*_FIELDS, *sorted(labels)]
    problems = []
    for matcher in matchers:
        if matcher.name not in known:
            close = difflib.get_close_matches(matcher.name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"matcher {matcher.name!r}: no alert has this field{hint}; "
                            f"known: {', '.join(known)}")
        elif matcher.op == "=~":
            try:
                re.compile(matcher.value)
            except re.error as exc:
                problems.append(f"matcher {matcher.name}=~{matcher.value!r}: not a regular expression: {exc}")
        elif matcher.value not in _VOCABULARY.get(matcher.name, (matcher.value,)):
            problems.append(f"matcher {matcher.name}{matcher.op}{matcher.value!r}: no alert has this value; "
                            f"one of: {', '.join(_VOCABULARY[matcher.name])}")
    return problems


def new_silence(
    matchers: list[Matcher],
    *,
    duration: timedelta,
    comment: str,
    now: datetime,
    created_by: str = "salvo",
    spanning: bool = False,
) -> Silence:
    """A silence starting now; its id is random so two people silencing the same thing both stay visible."""
    return Silence(
        id=uuid.uuid4().hex[:12],
        matchers=matchers,
        starts_at=now,
        ends_at=now + duration,
        created_by=created_by,
        comment=comment,
        spanning=spanning,
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
