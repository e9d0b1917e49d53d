"""Prometheus metrics of the alert core, built from an injected `CollectorRegistry` (one per test)."""

from __future__ import annotations

from collections.abc import Sized

from prometheus_client import CollectorRegistry, Counter, Gauge

from schemas.alert import Alert

_SEVERITIES = ("info", "warning", "critical")
_STATUSES = ("firing", "updated", "resolved")
LATE_REASONS = ("behind_watermark",)


class AlertMetrics:
    """Alerts by rule/severity/status, late events by reason, watermark delay and window state size."""

    def __init__(self, registry: CollectorRegistry, *, rule_ids: list[str] | None = None) -> None:
        """:param rule_ids: rules whose series are pre-created at zero, so dashboards see them at once."""
        self.alerts = Counter("salvo_alerts_total", "Alert versions emitted.",
                              ["rule", "severity", "status"], registry=registry)
        self.late_events = Counter("salvo_late_events_total", "Events behind the watermark, sent to the late topic.",
                                   ["reason"], registry=registry)
        self.watermark_delay = Gauge("salvo_watermark_delay_seconds",
                                     "How far the event-time watermark trails the clock.", registry=registry)
        self.left_out = Counter("salvo_rule_left_out_total",
                                "Reports a rule left out: excluded by a filter (reason `subtype reconnaissance`), or "
                                "inside a national summary of their night (`covered by national`).",
                                ["rule", "reason"], registry=registry)
        self.state_size = Gauge("salvo_window_state_keys", "Keys held in the rule engine's state table.",
                                registry=registry)
        for reason in LATE_REASONS:
            self.late_events.labels(reason=reason)
        for rule in rule_ids or []:
            for severity in _SEVERITIES:
                for status in _STATUSES:
                    self.alerts.labels(rule=rule, severity=severity, status=status)

    def alert(self, alert: Alert) -> None:
        """Count one emitted alert version."""
        self.alerts.labels(rule=alert.rule_id, severity=alert.severity, status=alert.status).inc()

    def leave_out(self, rule: str, reason: str, reports: int) -> None:
        """Count reports a rule left out."""
        self.left_out.labels(rule=rule, reason=reason).inc(reports)

    def late(self, reason: str) -> None:
        """Count one late event."""
        self.late_events.labels(reason=reason).inc()

    def watch_state(self, state: Sized) -> None:
        """Report the size of `state` when the metrics are read.

        Counting the keys walks the whole table (one dedup key per recent event, thousands of them); done on
        every clock tick it held the worker's event loop for about 10 ms a tick in a replay."""
        self.state_size.set_function(lambda: len(state))

    def observe(self, *, watermark_delay: float | None) -> None:
        """Record the watermark delay, when known, on each `advance`."""
        if watermark_delay is not None:
            self.watermark_delay.set(watermark_delay)
