"""The delivery stages (after Alertmanager's `notify.Stage`): silence → dedup → supersede → rate limit → retry(send).

Each stage takes a frozen context and the alerts still going, returns those that continue, and writes what
it decided into the context's ledger. Decisions are pure functions returning reason enums; no stage reads
the clock, the loop passes `now` in the context.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from alerts.channels.base import Channel, ChannelError, Envelope
from alerts.outbox import Outbox, OutboxEntry, OutboxState
from alerts.silences import silencing
from schemas.alert import Alert
from schemas.delivery import DeliveryStatus, FailureReason, Silence
from schemas.subscription import Subscription


@dataclass
class Ledger:
    """What one pass decided; the record stage turns it into a `DeliveryRecord` (None: nothing to log)."""

    status: DeliveryStatus | None = None
    reason: FailureReason | None = None
    error: str = ""
    next_attempt_at: datetime | None = None
    entry: OutboxEntry | None = None


@dataclass(frozen=True)
class DeliveryContext:
    """Built once per pass: which delivery, to whom, under which key, at what time."""

    subscription: Subscription
    outbox_key: str
    idempotency_key: str
    group_key: str
    now: datetime
    ledger: Ledger = field(default_factory=Ledger)


class Stage(Protocol):
    """One step of the pipeline: returns the alerts that continue."""

    async def __call__(self, ctx: DeliveryContext, alerts: list[Alert]) -> list[Alert]: ...


class StageSequence:
    """Runs stages in order and stops as soon as nothing is left."""

    def __init__(self, *stages: Stage) -> None:
        self._stages = stages

    async def __call__(self, ctx: DeliveryContext, alerts: list[Alert]) -> list[Alert]:
        for stage in self._stages:
            if not alerts:
                break
            alerts = await stage(ctx, alerts)
        return alerts


class SilenceStage:
    """Drops alerts muted by an active silence (re-checked on every retry: a silence may come later)."""

    def __init__(self, silences: Callable[[], Iterable[Silence]]) -> None:
        self._silences = silences

    async def __call__(self, ctx: DeliveryContext, alerts: list[Alert]) -> list[Alert]:
        kept = []
        for alert in alerts:
            silence = silencing(alert, self._silences(), now=ctx.now)
            if silence is None:
                kept.append(alert)
            else:
                ctx.ledger.status = DeliveryStatus.SILENCED
                ctx.ledger.error = f"silenced by {silence.id}: {silence.comment}"
        return kept


class DedupReason(StrEnum):
    """Why the dedup stage lets a delivery through or not."""

    SEND = "send"
    DELIVERED = "delivered"
    DEAD = "dead"
    NOT_DUE = "not_due"
    SUPERSEDED = "superseded"


def needs_send(entry: OutboxEntry, now: datetime) -> DedupReason:
    """The dedup decision for an outbox entry at `now` (like Alertmanager's `needsUpdate`)."""
    if entry.state is OutboxState.DELIVERED:
        return DedupReason.DELIVERED
    if entry.state is OutboxState.DEAD:
        return DedupReason.DEAD
    if entry.superseded:
        return DedupReason.SUPERSEDED
    if not entry.due(now):
        return DedupReason.NOT_DUE
    return DedupReason.SEND


class DedupStage:
    """Lets a delivery through only if its outbox entry is pending and due; repeats are logged as such."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def __call__(self, ctx: DeliveryContext, alerts: list[Alert]) -> list[Alert]:
        entry = self._outbox.get(ctx.outbox_key)
        if entry is None:
            return []
        ctx.ledger.entry = entry
        decision = needs_send(entry, ctx.now)
        if decision is DedupReason.SEND:
            return alerts
        if decision in (DedupReason.DELIVERED, DedupReason.DEAD):
            ctx.ledger.status = DeliveryStatus.DUPLICATE
            ctx.ledger.error = f"already {decision.value}"
        elif decision is DedupReason.SUPERSEDED:
            self._outbox.update(entry, state=OutboxState.DELIVERED, error="superseded by a newer version")
        return []


class SupersedeStage:
    """Stops the retries and re-sends of older versions of the alert for this subscription, as this one goes.

    It runs in the pass, not when the version is enqueued: passes of one subscription run in order (its
    lane), so every older version queued before this one has had its first attempt by now, and what this
    stops is only their retries. Marking them at enqueue time would skip versions still waiting in a lane.
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def __call__(self, ctx: DeliveryContext, alerts: list[Alert]) -> list[Alert]:
        if ctx.ledger.entry is not None:
            self._outbox.supersede_older(ctx.ledger.entry)
        return alerts


class RateLimiter:
    """A token bucket per subscription (burst = one minute's rate); state is per worker, in memory."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, datetime]] = {}

    def wait(self, name: str, *, per_minute: int, now: datetime) -> float:
        """Seconds until `name` may send; 0 takes a token now."""
        rate = per_minute / 60.0
        tokens, last = self._buckets.get(name, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + max(0.0, (now - last).total_seconds()) * rate)
        if tokens >= 1.0:
            self._buckets[name] = (tokens - 1.0, now)
            return 0.0
        self._buckets[name] = (tokens, now)
        return (1.0 - tokens) / rate


class RateLimitStage:
    """Defers a delivery (no attempt used) when its receiver is over its rate."""

    def __init__(self, outbox: Outbox, limiter: RateLimiter) -> None:
        self._outbox = outbox
        self._limiter = limiter

    async def __call__(self, ctx: DeliveryContext, alerts: list[Alert]) -> list[Alert]:
        per_minute = ctx.subscription.rate_per_minute
        wait = self._limiter.wait(ctx.subscription.name, per_minute=per_minute, now=ctx.now)
        if wait <= 0 or ctx.ledger.entry is None:
            return alerts
        later = ctx.now + timedelta(seconds=wait)
        ctx.ledger.entry = self._outbox.update(ctx.ledger.entry, next_attempt_at=later)
        ctx.ledger.status = DeliveryStatus.DEFERRED
        ctx.ledger.next_attempt_at = later
        ctx.ledger.error = f"over {per_minute}/min"
        return []


def channel_for(channels: Mapping[str, Channel], subscription: Subscription) -> Channel:
    """The channel registered for the subscription's target type (the router keyed by subscription)."""
    channel = channels.get(subscription.channel)
    if channel is None:
        detail = f"no {subscription.channel} channel configured on this worker"
        raise ChannelError("route", detail, reason=FailureReason.CLIENT)
    return channel


class SendStage:
    """Sends through the channel registered for the subscription's target type."""

    def __init__(self, channels: Mapping[str, Channel]) -> None:
        self._channels = channels

    async def __call__(self, ctx: DeliveryContext, alerts: list[Alert]) -> list[Alert]:
        channel = channel_for(self._channels, ctx.subscription)
        for alert in alerts:
            await channel.send(Envelope(alert, ctx.subscription, ctx.idempotency_key, ctx.now))
        return alerts


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; `Retry-After` wins when longer (capped at `max_retry_after_s`).

    :param max_attempts: attempts before the delivery is dead-lettered (default 10, about 5 minutes).
    :param jitter: the delay is scaled by a random factor in [1 - jitter, 1].
    """

    initial_s: float = 1.0
    multiplier: float = 2.0
    max_delay_s: float = 60.0
    max_attempts: int = 10
    jitter: float = 0.25
    max_retry_after_s: float = 3_600.0

    def delay(self, attempts: int, *, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before the next attempt after `attempts` failed ones."""
        backoff = min(self.max_delay_s, self.initial_s * self.multiplier ** max(0, attempts - 1))
        backoff *= 1.0 - self.jitter * rng.random()
        if retry_after is not None:
            return max(backoff, min(retry_after, self.max_retry_after_s))
        return backoff


class RetryStage:
    """One attempt of the inner stage; a failure schedules the next attempt in the outbox or dead-letters."""

    def __init__(self, inner: Stage, *, outbox: Outbox, policy: RetryPolicy, rng: random.Random) -> None:
        self._inner = inner
        self._outbox = outbox
        self._policy = policy
        self._rng = rng

    async def __call__(self, ctx: DeliveryContext, alerts: list[Alert]) -> list[Alert]:
        entry = ctx.ledger.entry
        assert entry is not None, "the dedup stage runs first"
        attempts = entry.attempts + 1
        try:
            sent = await self._inner(ctx, alerts)
        except ChannelError as error:
            ctx.ledger.reason, ctx.ledger.error = error.reason, str(error)[:2_000]
            if error.retryable and attempts < self._policy.max_attempts:
                wait = self._policy.delay(attempts, retry_after=error.retry_after, rng=self._rng)
                ctx.ledger.next_attempt_at = ctx.now + timedelta(seconds=wait)
                ctx.ledger.status = DeliveryStatus.RETRYING
                state = OutboxState.PENDING
            else:
                ctx.ledger.status, state = DeliveryStatus.DEAD, OutboxState.DEAD
            ctx.ledger.entry = self._outbox.update(
                entry,
                attempts=attempts,
                state=state,
                next_attempt_at=ctx.ledger.next_attempt_at or entry.next_attempt_at,
                reason=error.reason,
                error=ctx.ledger.error,
                last_sent_at=ctx.now,
            )
            return []
        ctx.ledger.status = DeliveryStatus.DELIVERED
        ctx.ledger.entry = self._outbox.update(
            entry, attempts=attempts, state=OutboxState.DELIVERED, last_sent_at=ctx.now, reason=None, error=""
        )
        return sent
