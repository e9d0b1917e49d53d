"""A seeded generator of hostile raw messages, each of which the worker must dead-letter with a reason.

Every kind is something a real producer, a bug or an attacker has sent or could send to a raw topic: not
JSON, JSON of the wrong shape, a missing or zone-less time, a date in the year 9999 or 1970, counts of 10^18
or below zero, more destroyed than launched, a title of control characters only, text past its bound, a
null value, deep nesting, and a payload past the worker's message limit. The same seed gives the same
messages, so a failure can be replayed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

BASE = {
    "id": "h", "time_start": "2026-03-01T18:00:00+02:00", "time_end": "2026-03-02T08:00:00+02:00",
    "model": "Shahed-136/131", "launched": 400, "destroyed": 371, "source": "kpszsu/posts/hostile",
}


@dataclass(frozen=True)
class Hostile:
    """One message for `strikes.raw`, the reason the worker must give, and which kind of hostility it is."""

    kind: str
    value: bytes | None
    reason: str


def _json(fields: dict[str, object]) -> bytes:
    return json.dumps(fields).encode()


def _kinds(rng: random.Random, oversized_bytes: int) -> dict[str, Callable[[str], Hostile]]:
    def make(kind: str, reason: str, value: Callable[[str], bytes | None]) -> Callable[[str], Hostile]:
        return lambda rid: Hostile(kind, value(rid), reason)

    return {
        "not-json": make("not-json", "malformed", lambda rid: bytes(rng.randrange(256) for _ in range(40))),
        "array": make("array", "schema", lambda rid: b"[1, 2, 3]"),
        "missing-time": make("missing-time", "schema",
                             lambda rid: _json({k: v for k, v in {**BASE, "id": rid}.items() if k != "time_end"})),
        "zoneless": make("zoneless", "schema", lambda rid: _json({**BASE, "id": rid, "time_end": "2026-03-02T08:00"})),
        "year-9999": make("year-9999", "implausible_time", lambda rid: _json(
            {**BASE, "id": rid, "time_start": "9999-12-30T00:00:00Z", "time_end": "9999-12-31T00:00:00Z"})),
        "year-1970": make("year-1970", "implausible_time", lambda rid: _json(
            {**BASE, "id": rid, "time_start": "1970-01-01T00:00:00Z", "time_end": "1970-01-01T06:00:00Z"})),
        "huge-count": make("huge-count", "schema",
                           lambda rid: _json({**BASE, "id": rid, "launched": 10**18, "destroyed": None})),
        "negative": make("negative", "schema", lambda rid: _json({**BASE, "id": rid, "destroyed": -5})),
        "destroyed-exceeds": make("destroyed-exceeds", "schema",
                                  lambda rid: _json({**BASE, "id": rid, "destroyed": 401})),
        "controls-only": make("controls-only", "schema",
                              lambda rid: _json({**BASE, "id": rid, "model": "\x00\x1b\u202e"})),
        "too-long": make("too-long", "schema", lambda rid: _json({**BASE, "id": rid, "model": "x" * 5_000})),
        "null": make("null", "malformed", lambda rid: None),
        "deep": make("deep", "malformed", lambda rid: b"[" * 100_000 + b"]" * 100_000),
        "oversized": make("oversized", "oversized",
                          lambda rid: _json({**BASE, "id": rid, "pad": "x" * oversized_bytes})),
    }


def hostile_messages(seed: int, count: int, *, oversized_bytes: int) -> Iterator[Hostile]:
    """`count` hostile messages, every kind at least once when `count` allows, in a seeded order.

    Oversized ones come once in the first round and then every 1,000th message only: the embedded broker
    keeps every record in memory, and what they test (the letter fits) does not need hundreds of them.
    """
    rng = random.Random(seed)
    kinds = _kinds(rng, oversized_bytes)
    names = list(kinds)
    small = [name for name in names if name != "oversized"]
    for i in range(count):
        if i < len(names):
            name = names[i]
        else:
            name = "oversized" if i % 1_000 == 999 else rng.choice(small)
        yield kinds[name](f"hostile-{seed}-{i}")
