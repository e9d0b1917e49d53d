"""`AirRaidAlert`: one official air-raid alert on `airraid.raw`, the earliest public sign of a salvo.

An alert is sent twice: when it starts (`finished_at` unset) and when it ends (`finished_at` set). Each is an
event: a start at `started_at`, an end at `finished_at`. The rule engine keeps which oblasts are under alert
at once (`alerts.waves`), so the two records of one alert must carry the same `id`.

It mirrors the official alert channel's rows (`official_alerts_2022-03_2024-04.csv`: oblast, raion, hromada,
level, started_at, finished_at) and the alerts.in.ua API's alerts (`streams.feeds.airraid`).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import AwareDatetime, model_validator

from schemas.base import FeedContract, Identifier, ShortText

Level = Literal["oblast", "raion", "hromada"]
ALERT_SUBTYPE = "air_raid_alert"
"""The sub-type of every air-raid event (`streams.events.airraid_event`); the end's also has `ALL_CLEAR`."""
ALL_CLEAR = "all_clear"


class AirRaidAlert(FeedContract):
    """An alert over an oblast or a part of one (a raion or a hromada); its event time is `at`."""

    id: Identifier
    oblast: ShortText
    raion: ShortText | None = None
    hromada: ShortText | None = None
    level: Level = "oblast"
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    source: ShortText = "official"

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.finished_at is not None and self.finished_at < self.started_at:
            raise ValueError("finished_at is before started_at")
        return self

    @property
    def ended(self) -> bool:
        """True for the record of the alert's end."""
        return self.finished_at is not None

    @property
    def at(self) -> AwareDatetime:
        """The event time: the start, or the end for the record of the end."""
        return self.finished_at if self.finished_at is not None else self.started_at

    @property
    def place(self) -> str:
        """The alerted area, most precise first: "Umanska hromada, Umanskyi raion, Cherkaska oblast"."""
        return ", ".join(p for p in (self.hromada, self.raion, self.oblast) if p)

    def start(self) -> AirRaidAlert:
        """The record of the alert's start (what a row with both times is first)."""
        return self.model_copy(update={"finished_at": None})
