"""Event-time watermarks kept per origin (raw topic partition), as plain data for the engine's state.

Event time is ordered within one partition only, so each origin keeps its own newest event time and the
engine's watermark is the slowest active origin's, minus the allowed lateness (as in Flink or Beam).
An origin more than `idle` behind the newest one is idle and no longer holds windows open, so one quiet
partition cannot stall every alert. The watermark never moves back. Times are Unix seconds.
"""

from __future__ import annotations

from typing import Any


def observe(wm: dict[str, Any] | None, origin: str, t: int, *, lateness: int, idle: int) -> dict[str, Any]:
    """The watermark state after an on-time event at `t` from `origin` (a new dict: assign it back)."""
    origins = dict(wm["origins"]) if wm else {}
    origins[origin] = max(origins.get(origin, t), t)
    newest = max(origins.values())
    slowest = min(m for m in origins.values() if m >= newest - idle)
    mark = slowest - lateness
    return {"origins": origins, "mark": mark if wm is None else max(mark, wm["mark"])}


def mark_of(wm: dict[str, Any] | None) -> int | None:
    """The watermark in Unix seconds, or None before the first event."""
    return None if wm is None else int(wm["mark"])
