"""The contracts of every Salvo topic: pydantic v2 models, strict on types, times and bounds."""

from schemas.airraid import AirRaidAlert
from schemas.alert import Alert, AlertStatus
from schemas.base import SEVERITY_RANK, Category, Lang, Severity
from schemas.deadletter import DeadLetter, RejectReason
from schemas.delivery import DeliveryRecord, DeliveryRequest, DeliveryStatus, FailureReason, Silence
from schemas.event import Bound, Classification, ClassifiedEvent, Evidence, Facts, Replay
from schemas.news import NewsItem
from schemas.strike import StrikeReport
from schemas.subscription import Subscription

__all__ = [
    "SEVERITY_RANK",
    "AirRaidAlert",
    "Alert",
    "AlertStatus",
    "Bound",
    "Category",
    "Classification",
    "ClassifiedEvent",
    "DeadLetter",
    "DeliveryRecord",
    "DeliveryRequest",
    "DeliveryStatus",
    "Evidence",
    "Facts",
    "FailureReason",
    "Lang",
    "NewsItem",
    "RejectReason",
    "Replay",
    "Severity",
    "Silence",
    "StrikeReport",
    "Subscription",
]
