"""The delivery pipeline assembled: route an alert, fan out per subscription, run the stages, log the result.

The worker calls three things: `plan` for each alert on the `alerts` topic (→ `deliveries`), `deliver` for
each request on `deliveries`, and `tick` on a timer (retries that are due, Alertmanager re-sends, pruning).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta

from alerts.channels.base import Channel, ChannelError, Envelope
from alerts.delivery.metrics import DeliveryMetrics
from alerts.delivery.stages import (
    DedupStage,
    DeliveryContext,
    RateLimiter,
    RateLimitStage,
    RetryPolicy,
    RetryStage,
    SendStage,
    SilenceStage,
    Stage,
    StageSequence,
    channel_for,
)
from alerts.outbox import Outbox, OutboxEntry, OutboxState
from alerts.subscriptions import Verdict, route
from schemas.alert import Alert
from schemas.delivery import DeliveryRecord, DeliveryRequest, DeliveryStatus, Silence
from schemas.subscription import AlertmanagerTarget, Subscription

log = logging.getLogger(__name__)

RecordSink = Callable[[DeliveryRecord], Awaitable[None]]

# Routing decisions that hold an alert back on purpose: logged, so nothing is silently dropped.
_LOGGED_HOLDS = {
    Verdict.SILENCED: DeliveryStatus.SILENCED,
    Verdict.QUIET_HOURS: DeliveryStatus.SILENCED,
    Verdict.REPLAY: DeliveryStatus.REPLAY,
}


def build_stages(
    *,
    silences: Callable[[], Iterable[Silence]],
    outbox: Outbox,
    limiter: RateLimiter,
    channels: Mapping[str, Channel],
    policy: RetryPolicy,
    rng: random.Random,
) -> Stage:
    """silence → dedup/outbox → rate limit → retry(send); the record step wraps it in `Deliverer`."""
    return StageSequence(
        SilenceStage(silences),
        DedupStage(outbox),
        RateLimitStage(outbox, limiter),
        RetryStage(SendStage(channels), outbox=outbox, policy=policy, rng=rng),
    )


class Deliverer:
    """Delivery for one worker: routing, the stage pipeline, the outbox and the delivery log.

    :param subscriptions: the live view of the `subscriptions` topic (name → Subscription).
    :param silences: the live view of the `silences` topic (id → Silence).
    :param record: publishes a `DeliveryRecord` to `deliveries.log` (awaited, so a record is not lost).
    :param keep: how long finished outbox entries stay for dedup (default 7 days).
    """

    def __init__(
        self,
        *,
        channels: Mapping[str, Channel],
        outbox: Outbox,
        subscriptions: Mapping[str, Subscription],
        silences: Mapping[str, Silence],
        record: RecordSink,
        metrics: DeliveryMetrics,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        keep: timedelta = timedelta(days=7),
    ) -> None:
        self._channels = channels
        self._outbox = outbox
        self._subscriptions = subscriptions
        self._silences = silences
        self._record = record
        self._metrics = metrics
        self._keep = keep
        self._stages = build_stages(
            silences=lambda: list(silences.values()),
            outbox=outbox,
            limiter=RateLimiter(),
            channels=channels,
            policy=policy or RetryPolicy(),
            rng=rng or random.Random(),
        )

    async def plan(self, alert: Alert, *, now: datetime) -> list[DeliveryRequest]:
        """The deliveries an alert needs; silenced and quiet-hours decisions are logged, not dropped."""
        requests = []
        for decision in route(alert, self._subscriptions.values(), self._silences.values(), now=now):
            if decision.deliver:
                requests.append(
                    DeliveryRequest(
                        alert=alert, subscription=decision.subscription, reasons=list(decision.reasons)
                    )
                )
            elif decision.verdict in _LOGGED_HOLDS:
                request = DeliveryRequest(alert=alert, subscription=decision.subscription)
                await self._log(
                    request,
                    decision.channel,
                    _LOGGED_HOLDS[decision.verdict],
                    now=now,
                    error="; ".join(decision.reasons),
                )
        return requests

    async def submit(self, alert: Alert, *, now: datetime) -> list[DeliveryRecord]:
        """`plan` then `deliver` each request concurrently (a fan-out that gathers failures)."""
        requests = await self.plan(alert, now=now)
        results = await asyncio.gather(*(self.deliver(r, now=now) for r in requests), return_exceptions=True)
        records = []
        for request, result in zip(requests, results, strict=True):
            if isinstance(result, BaseException):
                log.error("delivery %s failed unexpectedly: %r", request.outbox_key, result)
            elif result is not None:
                records.append(result)
        return records

    async def deliver(self, request: DeliveryRequest, *, now: datetime) -> DeliveryRecord | None:
        """Enqueue the request in the outbox (idempotently) and run one pass of the pipeline."""
        subscription = self._subscriptions.get(request.subscription)
        if subscription is None:
            return await self._log(request, None, DeliveryStatus.UNSUBSCRIBED, now=now)
        self._outbox.enqueue(request, channel=subscription.channel, now=now)
        return await self._run(request, subscription, now=now)

    async def tick(self, *, now: datetime) -> list[DeliveryRecord]:
        """Attempt every due retry, re-send firing Alertmanager alerts, and prune old entries."""
        records = []
        for entry in self._outbox.due(now):
            subscription = self._subscriptions.get(entry.request.subscription)
            if subscription is None:
                self._outbox.update(entry, state=OutboxState.DEAD, error="subscription removed")
                continue
            record = await self._run(entry.request, subscription, now=now)
            if record is not None:
                records.append(record)
        await self._resend_firing(now)
        self._outbox.prune(now=now, keep=self._keep)
        return records

    async def redrive(self, outbox_key: str, *, now: datetime) -> DeliveryRecord | None:
        """Send a dead (or delivered) delivery again with fresh attempts; KeyError if unknown."""
        entry = self._outbox.redrive(outbox_key, now=now)
        subscription = self._subscriptions.get(entry.request.subscription)
        if subscription is None:
            raise KeyError(f"subscription {entry.request.subscription} no longer exists")
        return await self._run(entry.request, subscription, now=now)

    async def send_direct(self, subscription: Subscription, alert: Alert, now: datetime) -> None:
        """Send `alert` straight through the subscription's channel (no outbox, no log): `subscribe test`."""
        await channel_for(self._channels, subscription).send(Envelope(alert, subscription, alert.key, now))

    def entries(self, state: OutboxState | None = None) -> list[OutboxEntry]:
        """The outbox entries (in `state`), for `salvo deliveries list`."""
        return list(self._outbox.entries(state))

    async def _run(self, request: DeliveryRequest, subscription: Subscription, *, now: datetime):
        ctx = DeliveryContext(
            subscription=subscription,
            outbox_key=request.outbox_key,
            idempotency_key=request.alert.key,
            group_key=request.alert.group_key,
            now=now,
        )
        await self._stages(ctx, [request.alert])
        ledger = ctx.ledger
        if ledger.status is None:
            return None
        attempts = ledger.entry.attempts if ledger.entry else 0
        latency = None
        if ledger.status is DeliveryStatus.DELIVERED and ledger.entry is not None:
            latency = (now - ledger.entry.enqueued_at).total_seconds()
            self._metrics.latency.labels(subscription.channel).observe(latency)
            if request.alert.first_ingested_at is not None:
                self._metrics.end_to_end.observe(
                    max(0.0, (now - request.alert.first_ingested_at).total_seconds())
                )
        if ledger.status is DeliveryStatus.DEAD and ledger.reason is not None:
            self._metrics.dead_letters.labels(subscription.channel, ledger.reason.value).inc()
        return await self._log(
            request,
            subscription.channel,
            ledger.status,
            now=now,
            attempts=attempts,
            latency_s=latency,
            reason=ledger.reason,
            error=ledger.error,
            next_attempt_at=ledger.next_attempt_at,
        )

    async def _log(
        self,
        request: DeliveryRequest,
        channel: str | None,
        status: DeliveryStatus,
        *,
        now: datetime,
        **fields,
    ) -> DeliveryRecord:
        record = DeliveryRecord(
            outbox_key=request.outbox_key,
            idempotency_key=request.alert.key,
            alert_id=request.alert.id,
            version=request.alert.version,
            subscription=request.subscription,
            channel=channel,
            status=status,
            at=now,
            **fields,
        )
        if channel is not None:
            self._metrics.deliveries.labels(channel, status.value).inc()
        await self._record(record)
        return record

    async def _resend_firing(self, now: datetime) -> None:
        """Alertmanager resolves alerts that stop arriving, so firing ones are re-posted every interval."""
        for entry in self._outbox.entries(OutboxState.DELIVERED):
            subscription = self._subscriptions.get(entry.request.subscription)
            if subscription is None or entry.superseded or entry.request.alert.status == "resolved":
                continue
            target = subscription.target
            if not isinstance(target, AlertmanagerTarget) or entry.last_sent_at is None:
                continue
            if (now - entry.last_sent_at).total_seconds() < target.resend_interval_s:
                continue
            try:
                await self.send_direct(subscription, entry.request.alert, now)
            except ChannelError as error:
                log.warning("re-send of %s failed (next tick retries): %s", entry.key, error)
                continue
            self._outbox.update(entry, last_sent_at=now)
