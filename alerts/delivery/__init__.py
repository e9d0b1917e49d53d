"""Delivery: the stage pipeline that takes routed alerts to channels with retries, dedup and a log."""

from alerts.delivery.metrics import DeliveryMetrics
from alerts.delivery.pipeline import Deliverer, RecordSink, build_stages
from alerts.delivery.stages import DeliveryContext, RateLimiter, RetryPolicy, Stage

__all__ = [
    "DeliveryContext",
    "DeliveryMetrics",
    "Deliverer",
    "RateLimiter",
    "RecordSink",
    "RetryPolicy",
    "Stage",
    "build_stages",
]
