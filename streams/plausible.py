"""Event times Salvo believes, so one wrong clock cannot silence every later alert.

The rule engine's watermark follows the latest event time it has seen. A single report dated in the year
9999 once moved it there, and every valid report after it on that partition went to `events.late`: 5
400-drone reports fired nothing. So an item whose event time is more than `ahead` past the wall clock, or
before `floor`, is refused here, before it can reach the engine, and dead-lettered as `implausible_time`.

Pure: the caller passes `now` (the worker its wall clock when it reads the item, the backtest and
`salvo replay` theirs when they read the files), so a history in the past gives the same verdicts to all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class TimeBounds:
    """Not before `floor`, not more than `ahead` after now."""

    floor: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    ahead: timedelta = timedelta(hours=1)

    def refusal(self, moment: datetime, *, now: datetime) -> str | None:
        """Why `moment` is not believed at `now`, or None when it is."""
        if moment < self.floor:
            return f"event time {moment.isoformat()} is before the floor {self.floor.isoformat()}"
        if moment > now + self.ahead:
            return (f"event time {moment.isoformat()} is more than {self.ahead.total_seconds():.0f} s ahead of "
                    f"the clock ({now.isoformat()})")
        return None


DEFAULT_BOUNDS = TimeBounds()  # also `SalvoSettings`' defaults, so files and the worker agree unconfigured
