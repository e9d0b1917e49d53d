"""Writing a one-partition Faust table from anywhere: its store and its changelog, directly.

Faust's own `table[key] = value` finds the changelog partition through the current event, which only stream
iteration sets: a batch taken from the stream's queue has none, and neither has a task beside the agent.
A table of one partition needs no event to know its partition, so the rules stage (a batch at a time) and
delivery's lanes (sends that finish outside the agent) write through `ChangelogWriter` instead.

The table's store must take writes without an event as well: a memory store does (RocksDB's asks the current
event for the partition), rebuilt from the changelog at start, which is what survives a crash anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator, MutableMapping
from typing import Any

import faust


class ChangelogWriter(MutableMapping[str, Any]):
    """Reads a one-partition table's store, and writes the store and the changelog (partition 0) directly.

    `sent` collects the acknowledgements of the changelog records written so far; `acknowledged` waits for
    them, for a caller that must know its writes are durable before it goes on.
    """

    def __init__(self, table: faust.Table) -> None:
        self._table = table
        self.sent: list[Awaitable[Any]] = []

    def __getitem__(self, key: str) -> Any:
        return self._table.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._table.data.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self._table.data[key] = value
        self.sent.append(self._table.send_changelog(0, key, value))

    def __delitem__(self, key: str) -> None:
        del self._table.data[key]
        self.sent.append(self._table.send_changelog(0, key, None))

    def __iter__(self) -> Iterator[str]:
        return iter(self._table.data)

    def __len__(self) -> int:
        return len(self._table.data)

    async def acknowledged(self) -> None:
        """Return once every write so far is on the changelog; raises if the broker refused one."""
        sent, self.sent = self.sent, []
        if sent:
            await self._table.app.producer.flush()
            await asyncio.gather(*sent)
