"""`StrikeReport`: one row of an air-force strike report on `strikes.raw`.

It mirrors the Ukrainian Air Force report rows (`missile_attacks_daily.csv`): one weapon model per
attack window, with what was launched and destroyed, where from and where to.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AwareDatetime, Field, model_validator

from schemas.base import FeedContract, Identifier, Reported, ShortText

Place = Annotated[str, Field(min_length=1, max_length=256)]


class StrikeReport(FeedContract):
    """A weapon model's share of one attack window; `time_end` is the event time (when it was reported)."""

    id: Identifier
    time_start: AwareDatetime
    time_end: AwareDatetime
    model: ShortText
    launched: Reported | None = None
    destroyed: Reported | None = None
    not_reach_goal: Reported | None = None
    still_attacking: Reported | None = None
    targets: Annotated[list[Place], Field(max_length=64)] = []
    target_main: Place | None = None
    launch_places: Annotated[list[Place], Field(max_length=64)] = []
    affected_regions: Annotated[list[Place], Field(max_length=64)] = []
    hit_locations: Reported | None = None
    fragment_locations: Reported | None = None
    carrier: ShortText | None = None
    source: Annotated[str, Field(min_length=1, max_length=512)]

    @model_validator(mode="after")
    def _window_is_ordered(self) -> Self:
        if self.time_end < self.time_start:
            raise ValueError("time_end is before time_start")
        if self.launched is not None and self.destroyed is not None and self.destroyed > self.launched:
            raise ValueError("destroyed exceeds launched")
        return self
