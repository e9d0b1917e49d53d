"""The delivery pipeline assembled: route an alert, enqueue it per subscription, run the stages, log the result.

The worker calls `submit` for each alert on the `alerts` topic, `tick` on the clock (retries that are due,
Alertmanager re-sends, pruning) and `redrive` when an operator asks. Each writes the outbox first and then
hands one pass of the stages per entry to a runner (`alerts.delivery.lanes`): the worker's lanes run passes
of different subscriptions concurrently and those of one subscription in order, without the caller waiting;
tests and tools run them inline. The outbox is the truth, the runner only a schedule: a pending entry that no
lane holds (after a crash, or a stop) is found due by the next tick.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial

from alerts.channels.base import Channel, ChannelError, Envelope
from alerts.delivery.lanes import Runner, inline
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
    SupersedeStage,
    channel_for,
)
from alerts.outbox import Outbox, OutboxEntry, OutboxState
from alerts.subscriptions import Verdict, route
from schemas.alert import Alert
from schemas.delivery import Ack, DeliveryRecord, DeliveryRequest, DeliveryStatus, Silence
from schemas.subscription import AlertmanagerTarget, Subscription

log = logging.getLogger(__name__)

RecordSink = Callable[[DeliveryRecord], Awaitable[None]]
Barrier = Callable[[], Awaitable[None]]

# Routing decisions that hold an alert back on purpose: logged, so nothing is silently dropped.
_LOGGED_HOLDS = {
    Verdict.SILENCED: DeliveryStatus.SILENCED,
    Verdict.QUIET_HOURS: DeliveryStatus.SILENCED,
    Verdict.REPLAY: DeliveryStatus.REPLAY,
    Verdict.ACKNOWLEDGED: DeliveryStatus.ACKNOWLEDGED,
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
    """silence → dedup/outbox → supersede → rate limit → retry(send); the record step wraps it in `Deliverer`."""
    return StageSequence(
        SilenceStage(silences),
        DedupStage(outbox),
        SupersedeStage(outbox),
        RateLimitStage(outbox, limiter),
        RetryStage(SendStage(channels), outbox=outbox, policy=policy, rng=rng),
    )


async def _already_durable() -> None:
    """The barrier of a store that is durable on assignment (a dict in tests)."""


class Deliverer:
    """Delivery for one worker: routing, the stage pipeline, the outbox and the delivery log.

    :param subscriptions: the live view of the `subscriptions` topic (name → Subscription).
    :param silences: the live view of the `silences` topic (id → Silence).
    :param acks: the live view of the `acks` topic (incident id → Ack; default none).
    :param record: publishes a `DeliveryRecord` to `deliveries.log` (awaited, so a record is not lost).
    :param keep: how long finished outbox entries stay for dedup (default 7 days).
    :param run: how passes run (default `inline`: awaited at once, records returned); the worker's `Lanes`.
    :param durable: awaited after new entries are enqueued and before any pass of theirs is handed to `run`
        (default: nothing to wait for). The worker waits there for the outbox changelog, so no send, and
        no input position written after `submit` returns, is ever ahead of the entry it belongs to.
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
        acks: Mapping[str, Ack] | None = None,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        keep: timedelta = timedelta(days=7),
        run: Runner = inline,
        durable: Barrier = _already_durable,
    ) -> None:
        self._channels = channels
        self._outbox = outbox
        self._subscriptions = subscriptions
        self._silences = silences
        self._acks: Mapping[str, Ack] = acks if acks is not None else {}
        self._record = record
        self._metrics = metrics
        self._keep = keep
        self._run = run
        self._durable = durable
        self._stages = build_stages(
            silences=lambda: list(silences.values()),
            outbox=outbox,
            limiter=RateLimiter(),
            channels=channels,
            policy=policy or RetryPolicy(),
            rng=rng or random.Random(),
        )

    async def plan(self, alert: Alert, *, now: datetime) -> list[DeliveryRequest]:
        """The deliveries an alert needs; silenced, quiet-hours, replay and acknowledged decisions are logged,
        not dropped."""
        requests = []
        for decision in route(alert, self._subscriptions.values(), self._silences.values(), now=now,
                              acks=self._acks):
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
        """`plan` the alert's deliveries, then `deliver` them."""
        return await self.deliver(await self.plan(alert, now=now), now=now)

    async def deliver(self, requests: Sequence[DeliveryRequest], *, now: datetime) -> list[DeliveryRecord]:
        """Enqueue each request in the outbox (idempotently), wait until the entries are durable, then hand one
        pass each to the runner, all at once (a fan-out that gathers failures).

        Returns the records of the passes that ran to the end: every one inline, none in lanes (a laned pass
        logs its record when it finishes).
        """
        for request in requests:
            subscription = self._subscriptions.get(request.subscription)
            if subscription is not None:  # a request for a removed subscription is logged by its pass
                self._outbox.enqueue(request, channel=subscription.channel, now=now)
        await self._durable()
        results = await asyncio.gather(*(self._schedule(r, now=now) for r in requests), return_exceptions=True)
        records = []
        for request, result in zip(requests, results, strict=True):
            if isinstance(result, BaseException):
                log.error("delivery %s failed unexpectedly: %r", request.outbox_key, result)
            elif result is not None:
                records.append(result)
        return records

    async def tick(self, *, now: datetime) -> list[DeliveryRecord]:
        """Hand every due retry to the runner, re-send firing Alertmanager alerts, and prune old entries.

        A due entry whose pass a lane already holds is not queued again (`Lanes.submit`).
        """
        records = []
        for entry in self._outbox.due(now):
            record = await self._schedule(entry.request, now=now)
            if record is not None:
                records.append(record)
        await self._resend_firing(now)
        self._outbox.prune(now=now, keep=self._keep)
        return records

    async def redrive(self, outbox_key: str, *, now: datetime) -> DeliveryRecord | None:
        """Send a dead (or delivered) delivery again with fresh attempts; KeyError if unknown."""
        entry = self._outbox.redrive(outbox_key, now=now)
        if entry.request.subscription not in self._subscriptions:
            raise KeyError(f"subscription {entry.request.subscription} no longer exists")
        return await self._schedule(entry.request, now=now)

    async def send_direct(self, subscription: Subscription, alert: Alert, now: datetime) -> None:
        """Send `alert` straight through the subscription's channel (no outbox, no log): `subscribe test`."""
        await channel_for(self._channels, subscription).send(Envelope(alert, subscription, alert.key, now))

    def entries(self, state: OutboxState | None = None) -> list[OutboxEntry]:
        """The outbox entries (in `state`), for `salvo deliveries list`."""
        return list(self._outbox.entries(state))

    def _schedule(self, request: DeliveryRequest, *, now: datetime) -> Awaitable[DeliveryRecord | None]:
        """The request's pass, handed to the runner on its subscription's lane under its outbox key."""
        return self._run(request.subscription, request.outbox_key, partial(self._pass, request), now=now)

    async def _pass(self, request: DeliveryRequest, now: datetime) -> DeliveryRecord | None:
        """One run of the stages for the request's entry, with its subscription as it is when the pass runs."""
        subscription = self._subscriptions.get(request.subscription)
        if subscription is None:
            entry = self._outbox.get(request.outbox_key)
            if entry is not None and entry.state is OutboxState.PENDING:
                self._outbox.update(entry, state=OutboxState.DEAD, error="subscription removed")
            return await self._log(request, None, DeliveryStatus.UNSUBSCRIBED, now=now)
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
            await self._run(subscription.name, entry.key, partial(self._resend, entry.key), now=now)

    async def _resend(self, key: str, now: datetime) -> None:
        """Re-post one delivered alert and note when; a failure waits for the next tick."""
        entry = self._outbox.get(key)
        subscription = None if entry is None else self._subscriptions.get(entry.request.subscription)
        if entry is None or subscription is None:
            return
        try:
            await self.send_direct(subscription, entry.request.alert, now)
        except ChannelError as error:
            log.warning("re-send of %s failed (next tick retries): %s", key, error)
            return
        sent = self._outbox.get(key)  # read again: the send awaited the receiver, the entry may have changed
        if sent is not None:
            self._outbox.update(sent, last_sent_at=now)
