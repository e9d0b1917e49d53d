"""The outbox: one entry per (alert version, subscription), the delivery log that makes repeats recognisable.

An entry is written `pending` before the first send and only turns `delivered` after the receiver said yes,
so a crash in between repeats the send (with the same idempotency key) and never loses it. The store is any
`MutableMapping[str, dict]`: in the worker a Faust table written through its changelog
(`streams.worker.changelog`), a dict in tests. Values are always assigned back,
because a Faust table only changes (and writes its changelog) on assignment.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas.delivery import DeliveryRequest, FailureReason

# Where delivery has read its input up to ({"alerts/0": offset}), kept beside the entries so that it is written
# after them on the same changelog partition: a restart resumes right after the last alert whose entries are
# there, whatever the consumer group committed.
POSITION = "~position"


class OutboxState(StrEnum):
    """Where a delivery stands; `dead` entries wait for `salvo deliveries redrive`."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class OutboxEntry(BaseModel):
    """One delivery's durable state (JSON in the store)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request: DeliveryRequest
    channel: str
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0
    enqueued_at: AwareDatetime
    next_attempt_at: AwareDatetime
    last_sent_at: AwareDatetime | None = None
    reason: FailureReason | None = None
    error: str = ""
    superseded: bool = False

    @property
    def key(self) -> str:
        """The outbox key ("alert-id:vN|subscription")."""
        return self.request.outbox_key

    def due(self, now: datetime) -> bool:
        """True when a pending entry may be attempted at `now`."""
        return self.state is OutboxState.PENDING and self.next_attempt_at <= now


class Outbox:
    """Typed access to the store; every change is an assignment of the whole entry."""

    def __init__(self, store: MutableMapping[str, Any]) -> None:
        self._store = store

    def get(self, key: str) -> OutboxEntry | None:
        """The entry under `key`, or None if this delivery was never enqueued."""
        raw = self._store.get(key)
        return None if raw is None else OutboxEntry.model_validate(raw)

    def put(self, entry: OutboxEntry) -> OutboxEntry:
        """Store the entry (assignment, so a Faust table records it) and return it."""
        self._store[entry.key] = entry.model_dump(mode="json")
        return entry

    def update(self, entry: OutboxEntry, **changes: Any) -> OutboxEntry:
        """Store a copy of `entry` with `changes` applied."""
        return self.put(entry.model_copy(update=changes))

    def enqueue(self, request: DeliveryRequest, *, channel: str, now: datetime) -> tuple[OutboxEntry, bool]:
        """The entry for `request`, creating it if new; the flag says whether it was created."""
        existing = self.get(request.outbox_key)
        if existing is not None:
            return existing, False
        entry = OutboxEntry(request=request, channel=channel, enqueued_at=now, next_attempt_at=now)
        return self.put(entry), True

    def supersede_older(self, entry: OutboxEntry) -> None:
        """Mark older versions of `entry`'s alert for the same subscription superseded, so they stop being
        retried or re-sent once a newer state of the alert is on its way (`SupersedeStage` says when)."""
        for older in self.entries():
            if (
                older.request.subscription == entry.request.subscription
                and older.request.alert.id == entry.request.alert.id
                and older.request.alert.version < entry.request.alert.version
                and not older.superseded
            ):
                self.update(older, superseded=True)

    def entries(self, state: OutboxState | None = None) -> Iterator[OutboxEntry]:
        """Every entry (in `state`, if given), in store order."""
        for key, raw in list(self._store.items()):
            if key == POSITION:
                continue
            entry = OutboxEntry.model_validate(raw)
            if state is None or entry.state is state:
                yield entry

    def due(self, now: datetime) -> list[OutboxEntry]:
        """Pending entries whose next attempt is at or before `now`, oldest first."""
        due = [entry for entry in self.entries(OutboxState.PENDING) if entry.due(now)]
        return sorted(due, key=lambda entry: entry.next_attempt_at)

    def redrive(self, key: str, *, now: datetime) -> OutboxEntry:
        """Make a dead (or delivered) entry pending again with fresh attempts; KeyError if unknown."""
        entry = self.get(key)
        if entry is None:
            raise KeyError(key)
        return self.update(
            entry, state=OutboxState.PENDING, attempts=0, next_attempt_at=now, reason=None, error=""
        )

    def position(self) -> dict[str, int]:
        """The last input offset handled per partition ("topic/partition" → offset)."""
        return dict(self._store.get(POSITION) or {})

    def handled(self, where: str, offset: int) -> None:
        """Record that the input record at `offset` of `where` has its entries in the outbox."""
        self._store[POSITION] = {**self.position(), where: offset}

    def forget_position(self) -> None:
        """Resume from wherever the consumer starts: the position numbered records the broker lost
        (`streams.worker.rewind`). The entries stay: each is an alert version still owed to a subscriber."""
        if POSITION in self._store:
            del self._store[POSITION]

    def prune(self, *, now: datetime, keep: timedelta) -> int:
        """Forget finished entries older than `keep`; dedup only needs the window in which repeats happen."""
        old = [
            entry.key
            for entry in self.entries()
            if entry.state is not OutboxState.PENDING and entry.enqueued_at < now - keep
        ]
        for key in old:
            del self._store[key]
        return len(old)
