"""`ClassifiedEvent`: what the classifier made of a news item or strike report (`events.classified`).

The classification part (`Classification`) is what `salvo classify` prints; the event adds where the
item came from and its event time, which is all the rules need.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.base import Category, Contract, FactCount, Identifier, Lang, NonNegative, ShortText, WebUrl

Feed = Literal["news", "strikes", "airraid"]
Qualifier = Literal["about", "at_least", "at_most", "range"]
MissileClass = Literal["ballistic", "cruise", "guided", "other"]
CountedFact = Literal[
    "drones", "missiles", "destroyed", "killed", "injured", "casualties", "children", "regions_count", "alerted"
]


class Replay(Contract):
    """Marks an item as replayed history: its alerts reach subscribers only when `deliver` is set."""

    label: ShortText
    deliver: bool = False


class Bound(Contract):
    """How a non-exact number was stated: "nearly 400" is about 400, "up to 50" at most 50."""

    qualifier: Qualifier
    low: NonNegative | None = None
    high: NonNegative | None = None


class Facts(Contract):
    """The numbers and places that alerts are made of; `None` means the text gives no number."""

    drones: FactCount | None = None
    missiles: FactCount | None = None
    missile_classes: dict[MissileClass, FactCount] = {}
    destroyed: FactCount | None = None
    killed: FactCount | None = None
    injured: FactCount | None = None
    casualties: FactCount | None = None
    children: FactCount | None = None
    regions_count: FactCount | None = None
    alerted: FactCount | None = None
    """Oblasts under air-raid alert at once (an attack night's peak, `alerts.waves`); no text gives it."""
    regions: Annotated[list[ShortText], Field(max_length=32)] = []
    places: Annotated[list[ShortText], Field(max_length=64)] = []
    bounds: dict[CountedFact, Bound] = {}
    actors: Annotated[list[ShortText], Field(max_length=16)] = []
    """Leaders and envoys the text names ("Macron", "Putin"), in order: what a talks story is grouped by."""
    speakers: Annotated[list[ShortText], Field(max_length=8)] = []
    """The actors who speak in the lead ("Putin warns …"), in order: who makes a statement or threat."""


class Evidence(Contract):
    """A span of the text that decided part of the result, so an operator can see why."""

    kind: ShortText
    text: Annotated[str, Field(max_length=512)]
    start: NonNegative
    end: NonNegative
    rule: ShortText | None = None


class Classification(Contract):
    """The classifier's verdict on one text."""

    category: Category
    subtypes: list[ShortText] = []
    also: list[Category] = []
    historical: bool = False
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]
    lang: Lang
    evidence: Annotated[list[Evidence], Field(max_length=64)] = []
    facts: Facts = Facts()


class ClassifiedEvent(Classification):
    """A classified item with its origin and event time; `occurred_at` drives every window.

    `origin` is the raw topic partition it was read from ("strikes.raw/1"): event time is ordered within
    one partition only, so watermarks are kept per origin.
    """

    id: Identifier
    feed: Feed
    source: ShortText
    occurred_at: AwareDatetime
    ingested_at: AwareDatetime
    title: Annotated[str, Field(min_length=1, max_length=1_000)]
    url: WebUrl | None = None
    weapon_model: ShortText | None = None
    origin: ShortText | None = None
    replay: Replay | None = None
