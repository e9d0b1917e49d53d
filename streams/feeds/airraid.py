"""The alerts.in.ua API onto `airraid.raw`: each air-raid alert once when it starts and once when it ends.

Why: an air-raid wave is the earliest public sign of a salvo, hours before the Air Force's summary
(`alerts.waves`). The API lists the alerts active now (`GET /v1/alerts/active.json`, `Authorization: Bearer
<token>`, `If-Modified-Since`; the JSON the official `alerts-in-ua` client reads: `alerts: [{id,
location_title, location_type, location_oblast, location_raion, alert_type, started_at, finished_at}]`). So
the connector keeps the alerts it has announced: one that appears is a start, one that is gone is an end, at
the time of the poll that no longer lists it (at most one interval late). The announced alerts are in the
state file with the rest (`streams.feeds.poll`), written after the broker acknowledged both, so a restart
neither repeats a start nor misses an end.

Alerts that started more than `MAX_AGE` ago when first seen are left out: the permanent ones (Luhansk oblast
since April 2022, Crimea since December 2022), as in the official alerts CSV, would keep two oblasts alerted
for ever. Only `alert_type: air_raid` is read by default; artillery and street-fighting alerts are local.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, HttpUrl, ValidationError

from schemas.airraid import AirRaidAlert, Level
from streams.feeds.poll import FeedError, HttpPoller, Interval, Source

log = logging.getLogger(__name__)

API_URL = "https://api.alerts.in.ua/v1/alerts/active.json"
MAX_AGE = timedelta(hours=24)
_LEVELS: dict[str, Level] = {"oblast": "oblast", "raion": "raion"}  # hromada and city are below a raion


class AirRaidApi(Source):
    """One configured alerts.in.ua endpoint (its token is the setting `SALVO_ALERTS_IN_UA_TOKEN`)."""

    url: HttpUrl = HttpUrl(API_URL)
    interval: Interval = 30.0
    types: list[str] = ["air_raid"]


class ApiAlert(BaseModel):
    """One alert as the API documents it; fields it adds later are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int | str
    location_title: str
    location_type: str = "oblast"
    location_oblast: str | None = None
    location_raion: str | None = None
    alert_type: str = "air_raid"
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None

    def alert(self) -> AirRaidAlert:
        """The alert's start as Salvo's contract (oblast, raion, hromada as the official CSV has them)."""
        level = _LEVELS.get(self.location_type, "hromada")
        return AirRaidAlert(
            id=f"alerts-in-ua-{self.id}",
            oblast=self.location_oblast or self.location_title,
            raion=self.location_raion if level != "oblast" else None,
            hromada=self.location_title if level == "hromada" else None,
            level=level,
            started_at=self.started_at,
            source="alerts.in.ua",
        )


class AirRaidPoller(HttpPoller):
    """Polls the active alerts; new ones go out as starts, vanished ones as ends."""

    source: AirRaidApi

    def __init__(self, source: AirRaidApi, *, token: str, **kwargs: Any) -> None:
        super().__init__(source, **kwargs)
        self._token = token
        self._active: dict[str, AirRaidAlert] = {}

    def _url(self) -> str:
        return str(self.source.url)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}

    def _items(self, response: httpx.Response, now: datetime) -> list[AirRaidAlert]:
        try:
            listed = response.json()["alerts"]
            if not isinstance(listed, list):
                raise TypeError("alerts is not a list")
        except (ValueError, KeyError, TypeError) as error:
            raise FeedError("malformed", f"{type(error).__name__}: {error}"[:200]) from None
        active: dict[str, AirRaidAlert] = {}
        for raw in listed:
            try:
                found = ApiAlert.model_validate(raw)
            except ValidationError as error:  # one bad alert never hides the others
                self._metrics.errors.labels(feed=self.name, reason="invalid_alert").inc()
                log.warning("source %s: alert refused: %s", self.name, str(error).splitlines()[0])
                continue
            if found.alert_type in self.source.types and found.finished_at is None and (
                    f"alerts-in-ua-{found.id}" in self.state.active or now - found.started_at <= MAX_AGE):
                alert = found.alert()
                active[alert.id] = alert
        ended = [AirRaidAlert.model_validate_json(kept) for aid, kept in self.state.active.items() if aid not in active]
        self._active = active
        return [*(a for aid, a in active.items() if aid not in self.state.active),
                *(a.model_copy(update={"finished_at": max(now, a.started_at)}) for a in ended)]

    def _record(self, items: list[AirRaidAlert]) -> None:
        self.state.active = {aid: alert.model_dump_json() for aid, alert in self._active.items()}
