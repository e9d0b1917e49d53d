"""Delivery: the stage pipeline that takes routed alerts to channels with retries, dedup and a log, in lanes."""

from alerts.delivery.lanes import Lanes
from alerts.delivery.metrics import DeliveryMetrics
from alerts.delivery.pipeline import Deliverer, RecordSink, build_stages
from alerts.delivery.stages import DeliveryContext, RateLimiter, RetryPolicy, Stage

__all__ = [
    "DeliveryContext",
    "DeliveryMetrics",
    "Deliverer",
    "Lanes",
    "RateLimiter",
    "RecordSink",
    "RetryPolicy",
    "Stage",
    "build_stages",
]
