"""Delivery contracts: what to deliver (`deliveries`), what happened (`deliveries.log`) and silences.

The idempotency key of a delivery is the alert version's key (`Alert.key`, "id:vN"); with the subscription
name it is also the outbox key, so a repeat after a crash is recognisable by the receiver and by Salvo.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator

from schemas.alert import Alert
from schemas.base import Contract, Identifier, NonNegative, ShortText
from schemas.subscription import ChannelType, canonical_region

MAX_SILENCE = timedelta(days=30)


class FailureReason(StrEnum):
    """Why a send failed; also the `reason` label of the dead-letter metric."""

    CLIENT = "client"
    SERVER = "server"
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"


class DeliveryStatus(StrEnum):
    """The outcome of one pass of the delivery pipeline for one (alert version, subscription)."""

    DELIVERED = "delivered"
    RETRYING = "retrying"
    DEAD = "dead"
    SILENCED = "silenced"
    REPLAY = "replay"
    DUPLICATE = "duplicate"
    DEFERRED = "deferred"
    UNSUBSCRIBED = "unsubscribed"
    ACKNOWLEDGED = "acknowledged"


class DeliveryRequest(Contract):
    """One alert version to deliver to one subscription (`deliveries` topic, keyed by `outbox_key`)."""

    alert: Alert
    subscription: Identifier
    reasons: list[ShortText] = []

    @property
    def outbox_key(self) -> str:
        """The outbox key: one delivery per alert version and subscription."""
        return f"{self.alert.key}|{self.subscription}"


class DeliveryRecord(Contract):
    """What happened to one delivery (`deliveries.log` topic); `dead` records are the dead letters."""

    outbox_key: ShortText
    idempotency_key: ShortText
    alert_id: Identifier
    version: Annotated[int, Field(ge=1)]
    subscription: Identifier
    channel: ChannelType | None = None
    status: DeliveryStatus
    attempts: NonNegative = 0
    reason: FailureReason | None = None
    error: Annotated[str, Field(max_length=2_000)] = ""
    latency_s: Annotated[float, Field(ge=0)] | None = None
    next_attempt_at: AwareDatetime | None = None
    at: AwareDatetime


class Matcher(Contract):
    """One condition on an alert: `region`, `category`, `severity`, `rule_id`, `subtype`, `id` or a label."""

    name: ShortText
    value: Annotated[str, Field(max_length=256)]
    op: Literal["=", "!=", "=~"] = "="

    @model_validator(mode="after")
    def _canonical(self) -> Matcher:
        """Regions compare by canonical name, so `region=Харків` silences "Kharkiv" alerts."""
        if self.name == "region" and self.op != "=~":
            object.__setattr__(self, "value", canonical_region(self.value))
        return self

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """`name=value`, `name!=value` or `name=~regex`, as on the command line."""
        for op in ("=~", "!=", "="):
            name, sep, value = text.partition(op)
            if sep and name.strip():
                return cls(name=name.strip(), value=value.strip(), op=op)  # type: ignore[arg-type]
        raise ValueError(f"matcher {text!r}: expected name=value, name!=value or name=~regex")


class Silence(Contract):
    """Mutes matching alerts for every subscriber between `starts_at` and `ends_at` (at most 30 days)."""

    id: Identifier
    matchers: Annotated[list[Matcher], Field(min_length=1, max_length=16)]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    created_by: ShortText = "salvo"
    comment: Annotated[str, Field(min_length=1, max_length=1_000)]
    # also mute alerts that name regions beyond those the region matchers match (`alerts.silences`)
    spanning: bool = False

    @model_validator(mode="after")
    def _bounded(self) -> Silence:
        """Silences are visible and bounded: a forgotten one must not mute a region forever."""
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.ends_at - self.starts_at > MAX_SILENCE:
            raise ValueError(f"a silence lasts at most {MAX_SILENCE.days} days")
        return self

    def active(self, now: datetime) -> bool:
        """True while the silence mutes alerts."""
        return self.starts_at <= now < self.ends_at


class Ack(Contract):
    """Someone on the desk took an incident (`acks` topic, keyed by the alert id): its later versions are not
    sent, so a night that grows does not page again, while its `resolved` version still is (`alerts.acks`)."""

    incident: Identifier
    version: Annotated[int, Field(ge=1)]
    """The version that was on screen when it was acknowledged; later versions are held."""
    at: AwareDatetime
    by: ShortText = "salvo"
    comment: Annotated[str, Field(max_length=1_000)] = ""
