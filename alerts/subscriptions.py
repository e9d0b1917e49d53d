"""Routing: which subscriptions an alert reaches, and why (Salvo's analogue of Alertmanager's dispatch).

`route` is pure: it takes the subscriptions, silences, acknowledgements and `now`, and returns one decision
per subscription with human-readable reasons, so `salvo route ALERT.json` and the worker agree by
construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from alerts.acks import holding
from alerts.acks import reason as acks_reason
from alerts.silences import silencing
from schemas.alert import Alert
from schemas.base import SEVERITY_RANK
from schemas.delivery import Ack, Silence
from schemas.subscription import Filters, Subscription


class Verdict(StrEnum):
    """What routing decided for one subscription; only `deliver` leads to a delivery."""

    DELIVER = "deliver"
    FILTERED = "filtered"
    DISABLED = "disabled"
    SILENCED = "silenced"
    QUIET_HOURS = "quiet_hours"
    REPLAY = "replay"
    RESOLVED_OFF = "resolved_off"
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True)
class RouteDecision:
    """The decision for one subscription, with the reasons that led to it."""

    subscription: str
    channel: str
    verdict: Verdict
    reasons: tuple[str, ...]

    @property
    def deliver(self) -> bool:
        """True when the alert goes to this subscription."""
        return self.verdict is Verdict.DELIVER


def _any_of(field: str, have: Iterable[str], wanted: list[str]) -> str | None:
    """A reason if the filter list is empty or shares a value with the alert; None means no match."""
    if not wanted:
        return ""
    common = [value for value in have if value in wanted]
    if not common:
        return None
    return f"{field} {', '.join(common)} in filter"


def match_filters(filters: Filters, alert: Alert) -> tuple[bool, list[str]]:
    """Whether the alert passes every filter, with why it passed or the first filter that failed."""
    reasons: list[str] = []
    if SEVERITY_RANK[alert.severity] < SEVERITY_RANK[filters.min_severity]:
        return False, [f"severity {alert.severity} below {filters.min_severity}"]
    reasons.append(f"severity {alert.severity} >= {filters.min_severity}")
    checks = (
        ("category", [alert.category] if alert.category else [], filters.categories),
        ("subtype", alert.subtypes, filters.subtypes),
        ("region", alert.facts.regions, filters.regions),
        ("rule", [alert.rule_id], filters.rule_ids),
    )
    for field, have, wanted in checks:
        reason = _any_of(field, have, wanted)
        if reason is None:
            return False, [f"{field} {', '.join(have) or '(none)'} not in {', '.join(wanted)}"]
        if reason:
            reasons.append(reason)
    for name, value in filters.labels.items():
        if alert.labels.get(name) != value:
            return False, [f"label {name}={alert.labels.get(name, '(absent)')} is not {value}"]
        reasons.append(f"label {name}={value}")
    return True, reasons


def decide(
    subscription: Subscription, alert: Alert, silences: Iterable[Silence], now: datetime,
    acks: Mapping[str, Ack] | None = None,
) -> RouteDecision:
    """The decision for one subscription: disabled, filtered, resolved not wanted, replay, acknowledged,
    silenced, quiet hours, or deliver.

    A replayed alert reaches nobody unless its replay was started with `--deliver`: rehearsals never page.
    """

    def decision(verdict: Verdict, reasons: list[str]) -> RouteDecision:
        return RouteDecision(subscription.name, subscription.channel, verdict, tuple(reasons))

    if not subscription.enabled:
        return decision(Verdict.DISABLED, ["subscription disabled"])
    matched, reasons = match_filters(subscription.filters, alert)
    if not matched:
        return decision(Verdict.FILTERED, reasons)
    if alert.status == "resolved" and not subscription.wants_resolved:
        return decision(Verdict.RESOLVED_OFF, ["resolved version, and send_resolved is off"])
    if alert.replay is not None and not alert.replay.deliver:
        return decision(Verdict.REPLAY, [f"replay {alert.replay.label} runs without --deliver"])
    ack = holding(alert, acks or {})
    if ack is not None:
        return decision(Verdict.ACKNOWLEDGED, [acks_reason(ack)])
    silence = silencing(alert, silences, now=now)
    if silence is not None:
        until = silence.ends_at.isoformat(timespec="minutes")
        return decision(Verdict.SILENCED, [f"silenced by {silence.id} until {until}: {silence.comment}"])
    quiet = subscription.filters.quiet_hours
    if quiet is not None and quiet.mutes(alert.severity, now):
        window = f"{quiet.start:%H:%M}-{quiet.end:%H:%M} {quiet.timezone}"
        return decision(Verdict.QUIET_HOURS, [f"quiet hours {window}"])
    return decision(Verdict.DELIVER, reasons)


def route(
    alert: Alert, subscriptions: Iterable[Subscription], silences: Iterable[Silence], *, now: datetime,
    acks: Mapping[str, Ack] | None = None,
) -> list[RouteDecision]:
    """One decision per subscription, sorted by name, for the worker and for `salvo route` alike."""
    active = [silence for silence in silences if silence.active(now)]
    ordered = sorted(subscriptions, key=lambda s: s.name)
    return [decide(subscription, alert, active, now, acks) for subscription in ordered]
