"""Batch state: the rule engine's working copy of its table, written back as one log record per batch.

The engine reads and writes a `MutableMapping`. Live, that mapping is a `BatchState` over the worker's
one-partition table, laid out as a write-ahead log in front of a checkpoint:

    KEY             the engine's own keys, as of the last checkpoint (`~flushed`)
    ~wal|SLOT       one batch: {"seq", "offsets", "changed", "deleted"}, in slot seq % ring
    ~flushed        {"seq", "offsets"}: every batch up to seq is in the engine's keys

A batch's changes are one `~wal|…` record, whatever it touched: that is what makes a batch atomic and cheap
(one changelog record per batch, not one per state key). Every `ring` batches the keys changed since the last
checkpoint are written themselves, then `~flushed`, so that the log slots can be reused.

Why that is exact under kill -9: records of one partition become durable in the order they were sent, so
whatever survives a crash is a prefix of the changelog. `recovered` takes the newest checkpoint in it and
folds, in order, every logged batch after it; a batch is either wholly in the prefix (one record) or not at
all, and a half-written checkpoint only wrote values that the logged batches it covers set again. A slot is
reused only after a checkpoint covers its batch. The state is therefore the state after exactly the batches
logged, and `offsets` says where each input resumes: a redelivered event at or below them is skipped, so none
counts twice. None is lost either: the adapter commits input offsets only after the log record is durable.

Plain Python, no Faust: the backtest runs the engine over a dict and never needs batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

WAL = "~wal|"
FLUSHED = "~flushed"
RING = 64


class _Absent:
    """Marks a key known not to exist (never written, or deleted since the last checkpoint)."""


ABSENT = _Absent()
Write = tuple[str, Any]  # (key, value), or (key, ABSENT) for a delete


def write(table: MutableMapping[str, Any], writes: list[Write]) -> None:
    """Apply a commit's writes to the table in order (the order is what the module doc relies on)."""
    for key, value in writes:
        if value is not ABSENT:
            table[key] = value
        elif key in table:
            del table[key]


class BatchState(MutableMapping[str, Any]):
    """A write-back cache over the table: the engine's state mapping in the live worker.

    Values are treated as immutable, as the engine does (it always assigns a changed value back), so a cached
    value is handed out as it is. `savepoint` undoes one event's changes when processing it fails, so a failing
    event is dead-lettered without leaving half of its effect in the batch.

    :param ring: log slots, so a checkpoint is written every `ring` batches (default 64).
    """

    def __init__(self, table: MutableMapping[str, Any], *, ring: int = RING) -> None:
        self._table = table
        self.ring = ring
        self._cache: dict[str, Any] = {}
        self._batch: set[str] = set()
        self._unflushed: set[str] = set()
        self._undo: dict[str, tuple[tuple[Any] | None, bool]] | None = None
        self.seq = 0
        self.flushed_seq = 0
        self.offsets: dict[str, int] = {}
        self.recovered()

    def recovered(self) -> None:
        """Rebuild from the table: the newest checkpoint, then every logged batch after it, in order."""
        self._cache.clear()
        self._batch.clear()
        self._unflushed.clear()
        flushed = self._table.get(FLUSHED) or {"seq": 0, "offsets": {}}
        self.flushed_seq = self.seq = flushed["seq"]
        self.offsets = dict(flushed["offsets"])
        logged = (self._table.get(f"{WAL}{slot}") for slot in range(self.ring))
        for entry in sorted((e for e in logged if e and e["seq"] > self.flushed_seq), key=lambda e: e["seq"]):
            self._cache.update(entry["changed"])
            self._cache.update(dict.fromkeys(entry["deleted"], ABSENT))
            self._unflushed.update(entry["changed"], entry["deleted"])
            self.seq = entry["seq"]
            self.offsets = dict(entry["offsets"])

    def applied(self, partition: str, offset: int) -> bool:
        """True when the record at `offset` of `partition` is already in the state (a redelivery)."""
        last = self.offsets.get(partition)
        return last is not None and offset <= last

    def commit(self, offsets: Mapping[str, int]) -> list[Write]:
        """The writes that make this batch durable, in order: its log record, then a checkpoint when due.

        A batch that changed nothing writes nothing: redelivered, its events change nothing again.

        :param offsets: the last offset applied per input partition, recorded with the batch.
        """
        self.offsets = {**self.offsets, **offsets}
        if not self._batch:
            return []
        self.seq += 1
        changed = {key: self._cache[key] for key in sorted(self._batch) if self._cache[key] is not ABSENT}
        deleted = sorted(key for key in self._batch if self._cache[key] is ABSENT)
        writes: list[Write] = [(f"{WAL}{self.seq % self.ring}", {
            "seq": self.seq, "offsets": self.offsets, "changed": changed, "deleted": deleted})]
        self._unflushed |= self._batch
        self._batch.clear()
        if self.seq - self.flushed_seq >= self.ring:
            writes += [(key, self._cache[key]) for key in sorted(self._unflushed)]
            writes.append((FLUSHED, {"seq": self.seq, "offsets": self.offsets}))
            self._unflushed.clear()
            self.flushed_seq = self.seq
        return writes

    def reset(self) -> list[Write]:
        """Start empty: the writes that clear the table durably.

        For a state built on records the broker no longer has (`streams.worker.rewind`): kept, it would skip
        the records that now come at those offsets. The order makes a crash during the reset harmless: the
        engine's keys go first, then the log slots oldest first but the newest, then a checkpoint of nothing
        whose seq is past every logged batch, then the newest slot (ignored from then on). Until that
        checkpoint is written, the newest logged batch (or the old checkpoint, if none came after it) is still
        there with the offsets found past the end, so the next start resets again.
        """
        slots = sorted((key for key in self._table if key.startswith(WAL)), key=lambda key: self._table[key]["seq"])
        engine = sorted(key for key in self._table if not key.startswith("~"))
        self.seq += 1
        writes: list[Write] = [(key, ABSENT) for key in engine + slots[:-1]]
        writes.append((FLUSHED, {"seq": self.seq, "offsets": {}}))
        writes += [(key, ABSENT) for key in slots[-1:]]
        self._cache.clear()
        self._batch.clear()
        self._unflushed.clear()
        self.flushed_seq = self.seq
        self.offsets = {}
        return writes

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Keep the changes made inside the block only if it does not raise."""
        self._undo = {}
        try:
            yield
        except BaseException:
            for key, (cached, in_batch) in self._undo.items():
                if cached is None:
                    self._cache.pop(key, None)
                else:
                    self._cache[key] = cached[0]
                if not in_batch:
                    self._batch.discard(key)
            raise
        finally:
            self._undo = None

    # -- MutableMapping ------------------------------------------------------------------------------
    def _lookup(self, key: str) -> Any:
        if key in self._cache:
            return self._cache[key]
        value = self._table.get(key, ABSENT)
        self._cache[key] = value
        return value

    def _before_change(self, key: str) -> None:
        if self._undo is not None and key not in self._undo:
            self._undo[key] = ((self._cache[key],) if key in self._cache else None, key in self._batch)

    def __getitem__(self, key: str) -> Any:
        value = self._lookup(key)
        if value is ABSENT:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """As `Mapping.get`, without a KeyError for every absent key: the engine asks for absent keys a lot."""
        value = self._lookup(key)
        return default if value is ABSENT else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._lookup(key) is not ABSENT

    def __setitem__(self, key: str, value: Any) -> None:
        self._before_change(key)
        self._cache[key] = value
        self._batch.add(key)

    def __delitem__(self, key: str) -> None:
        if self._lookup(key) is ABSENT:
            raise KeyError(key)
        self._before_change(key)
        self._cache[key] = ABSENT
        self._batch.add(key)

    def __iter__(self) -> Iterator[str]:
        for key in self._table:
            if not key.startswith("~") and self._cache.get(key) is not ABSENT:
                yield key
        for key, value in self._cache.items():
            if value is not ABSENT and key not in self._table:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)
