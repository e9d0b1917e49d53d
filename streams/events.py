"""Turning validated feed items into `ClassifiedEvent`s: the one place every feed becomes an event.

The live worker, the replay and the backtest all call these functions, so an item gives the same event
whichever path it takes; `ingested_at` is passed in because only the caller knows which clock applies.
"""

from __future__ import annotations

import re
from datetime import datetime

from schemas import Classification, ClassifiedEvent, Evidence, Facts, NewsItem, Replay, StrikeReport
from schemas.airraid import ALERT_SUBTYPE, ALL_CLEAR, AirRaidAlert
from streams.classify import normalise_region
from streams.weapons import classify_weapon

_SUBTYPE = {"drone": "drone_strike", "missile": "missile_strike"}
# The strike feed names its sources as Facebook page posts ("kpszsu/posts/pfbid02JB…", "GeneralStaff.ua/posts/…"):
# the path of the post on facebook.com, so the desk gets a link where it got an opaque id.
_FACEBOOK_POST = re.compile(r"[A-Za-z0-9.]{2,64}/posts/pfbid[A-Za-z0-9]{10,120}")
RECONNAISSANCE = "reconnaissance"  # the sub-type of a report of reconnaissance drones: rules leave them out


def news_event(
    item: NewsItem,
    classification: Classification,
    *,
    ingested_at: datetime,
    origin: str | None = None,
    replay: Replay | None = None,
) -> ClassifiedEvent:
    """A classified news item; its event time is the publication time."""
    return ClassifiedEvent(
        **classification.model_dump(),
        id=f"news:{item.id}",
        feed="news",
        source=item.source,
        occurred_at=item.published_at,
        ingested_at=ingested_at,
        title=item.title,
        url=item.url,
        origin=origin,
        replay=replay,
    )


def _regions(report: StrikeReport) -> list[str]:
    """Canonical oblasts named in the report's affected regions and targets, in first-seen order."""
    seen: dict[str, None] = {}
    for name in (*report.affected_regions, *report.targets):
        region = normalise_region(name)
        if region is not None:
            seen.setdefault(region, None)
    return list(seen)


def strike_event(
    report: StrikeReport, *, ingested_at: datetime, origin: str | None = None, replay: Replay | None = None
) -> ClassifiedEvent:
    """A strike report is an attack by definition: the weapon table decides drones or missiles.

    The event time is the end of the attack window, when the report's numbers are final.
    """
    weapon = classify_weapon(report.model)
    launched = report.launched if report.launched is not None else report.destroyed
    facts = Facts(
        drones=launched if weapon.kind == "drone" else None,
        missiles=launched if weapon.kind == "missile" else None,
        missile_classes={weapon.missile_class: launched}
        if weapon.missile_class and launched is not None
        else {},
        destroyed=report.destroyed,
        regions=_regions(report),
        places=[*report.targets, *report.launch_places][:64],
    )
    title = f"{report.model}: {launched if launched is not None else 'unknown number'} launched"
    if report.destroyed is not None:
        title += f", {report.destroyed} destroyed"
    subtypes = [_SUBTYPE[weapon.kind]] if weapon.kind in _SUBTYPE else []
    if weapon.reconnaissance:
        subtypes.append(RECONNAISSANCE)
    return ClassifiedEvent(
        category="attack",
        subtypes=subtypes,
        confidence=1.0,
        lang="en",
        evidence=[
            Evidence(
                kind="weapon_model", text=report.model, start=0, end=len(report.model), rule="weapon_table"
            )
        ],
        facts=facts,
        id=f"strike:{report.id}",
        feed="strikes",
        source=report.source[:256],
        occurred_at=report.time_end,
        ingested_at=ingested_at,
        title=title,
        url=f"https://www.facebook.com/{report.source}" if _FACEBOOK_POST.fullmatch(report.source) else None,
        weapon_model=report.model,
        origin=origin,
        replay=replay,
    )


def airraid_event(
    alert: AirRaidAlert, *, ingested_at: datetime, origin: str | None = None, replay: Replay | None = None
) -> ClassifiedEvent:
    """An air-raid alert's start or end. It is a warning, not a report of an attack: category "other", so rules
    on attacks do not count it; night rules with a trigger on `alerted` read it (`alerts.waves`).

    Its one region is the canonical oblast ("Kyivska oblast" is "Kyiv", "Kyiv City" its own), or the name as
    given when it is none we know, so an oblast is counted once whichever level the alert is at.
    """
    oblast = normalise_region(alert.oblast) or alert.oblast
    phase = "end" if alert.ended else "start"
    title = f"Air-raid alert {'ended' if alert.ended else 'started'}: {alert.place}"
    return ClassifiedEvent(
        category="other",
        subtypes=[ALERT_SUBTYPE, ALL_CLEAR] if alert.ended else [ALERT_SUBTYPE],
        confidence=1.0,
        lang="en",
        facts=Facts(regions=[oblast]),
        id=f"airraid:{alert.id}:{phase}",
        feed="airraid",
        source=alert.source,
        occurred_at=alert.at,
        ingested_at=ingested_at,
        title=title[:1000],
        origin=origin,
        replay=replay,
    )
