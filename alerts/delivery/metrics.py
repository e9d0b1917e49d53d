"""Delivery metrics, built on an injected CollectorRegistry so each test and worker owns its series."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from schemas.delivery import DeliveryStatus, FailureReason

CHANNELS = ("webhook", "slack", "email", "alertmanager", "kafka")
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)


class DeliveryMetrics:
    """Counters and histograms of the delivery pipeline; every label set starts at zero."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "salvo_deliveries",
            "Delivery pipeline outcomes per channel (delivered, retrying, dead, silenced, ...).",
            ["channel", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "salvo_delivery_latency_seconds",
            "From enqueueing a delivery to the receiver accepting it, retries included.",
            ["channel"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.dead_letters = Counter(
            "salvo_delivery_dead_letters",
            "Deliveries given up after the last attempt or a non-retryable failure.",
            ["channel", "reason"],
            registry=registry,
        )
        self.end_to_end = Histogram(
            "salvo_end_to_end_latency_seconds",
            "From the first event of an alert being ingested to the alert being delivered.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        for channel in CHANNELS:
            self.latency.labels(channel)
            for outcome in DeliveryStatus:
                self.deliveries.labels(channel, outcome.value)
            for reason in FailureReason:
                self.dead_letters.labels(channel, reason.value)
