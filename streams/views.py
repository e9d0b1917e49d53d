"""Every worker's own copy of a compacted topic (subscriptions, silences), read from the beginning.

Each worker must see the whole set, not a partition of it, so this reads without a consumer group and
keeps the newest value per key; a null value (a tombstone) deletes the key. Invalid records are logged
and skipped here because they were validated by the API that wrote them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


class CompactedView(Mapping[str, M], Generic[M]):
    """A read-only mapping kept up to date by `follow`; `ready` is set once the topic was read to its end.

    :param context: the validation context records are read with (the `Sealer` that opens subscription
        secrets, `schemas.secrets`).
    """

    def __init__(
        self, topic: str, contract: type[M], *, bootstrap_servers: str, context: dict[str, Any] | None = None
    ) -> None:
        self.topic = topic
        self.contract = contract
        self.bootstrap_servers = bootstrap_servers
        self.context = context
        self.ready = asyncio.Event()
        self._items: dict[str, M] = {}

    def __getitem__(self, key: str) -> M:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """Apply one record of the topic: newest value wins, a null value deletes."""
        if key is None:
            return
        name = key.decode()
        if value is None:
            self._items.pop(name, None)
            return
        try:
            self._items[name] = self.contract.model_validate_json(value, context=self.context)
        except PydanticValidationError as exc:  # its text would quote the input, secrets and all
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            log.error("skipping invalid %s record %r: %s", self.topic, name, problems)

    async def follow(self) -> None:
        """Read the topic from the beginning, then keep following it until cancelled."""
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for messages in batches.values():
                    for message in messages:
                        self.apply(message.key, message.value)
                if not batches:
                    self.ready.set()
        finally:
            await consumer.stop()
