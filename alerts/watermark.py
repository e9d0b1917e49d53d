"""Event-time watermarks kept per origin (raw topic partition), as plain data for the engine's state.

Event time is ordered within one partition only, so each origin keeps its own newest event time and the
engine's watermark is the slowest active origin's, minus the allowed lateness (as in Flink or Beam).

Idleness is measured in ingest time (`ingested_at`: the wall clock live, event time in a backtest), as
Flink's `withIdleness` does: an origin that delivered nothing for `idle` seconds stops holding windows open,
so one quiet partition cannot stall every alert, while a busy origin that merely lags behind the others (a
replay's feeds race each other) keeps holding the mark and none of its events turn late.

The watermark only starts `hold` seconds of ingest time after the first event: origins appear one by one
(a worker's partitions start at different moments), and an origin first seen after the others had moved
the mark past it would otherwise have all its history late. The mark never moves back. Times are Unix
seconds.
"""

from __future__ import annotations

from typing import Any


def observe(
    wm: dict[str, Any] | None, origin: str, t: int, *, seen_at: int, lateness: int, idle: int, hold: int
) -> dict[str, Any]:
    """The state after an on-time event at `t` from `origin`, ingested at `seen_at` (a new dict: assign it)."""
    origins = dict(wm["origins"]) if wm else {}
    previous = origins.get(origin)
    origins[origin] = {"max": max(previous["max"], t) if previous else t, "seen": seen_at}
    state = {"origins": origins, "start": wm["start"] if wm else seen_at, "mark": wm["mark"] if wm else None}
    return released(state, now=seen_at, lateness=lateness, idle=idle, hold=hold)


def released(wm: dict[str, Any], *, now: int, lateness: int, idle: int, hold: int) -> dict[str, Any]:
    """The state with its mark recomputed at ingest time `now`, once the start-up hold is over."""
    if now - wm["start"] < hold:
        return wm
    origins = wm["origins"].values()
    latest = max(origin["seen"] for origin in origins)
    mark = min(origin["max"] for origin in origins if origin["seen"] >= latest - idle) - lateness
    previous = wm["mark"]
    return {**wm, "mark": mark if previous is None else max(mark, previous)}


def mark_of(wm: dict[str, Any] | None) -> int | None:
    """The watermark in Unix seconds, or None before the first event and during the start-up hold."""
    return None if wm is None or wm["mark"] is None else int(wm["mark"])
