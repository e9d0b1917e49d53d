"""Alert rules: the pydantic models of each rule kind and the YAML loader that reports `file:line: reason`.

A rule file is read strictly (unknown keys are errors) so a typo never silently disables a rule, and every
error names the line it came from, because operators fix rules in an editor, not in a traceback.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from alerts.exceptions import RuleFileError
from schemas.base import SEVERITY_RANK, Category, Lang, Severity
from schemas.event import ClassifiedEvent, CountedFact, Feed
from streams.classify.actors import ACTORS

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _parse_duration(value: Any) -> Any:
    """Accept "30m", "24h", "14d" (what operators write) besides pydantic's own timedelta forms."""
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return timedelta(**{_UNIT[m.group(2)]: int(m.group(1))})
    return value


Duration = Annotated[timedelta, BeforeValidator(_parse_duration)]
FactName = CountedFact | Literal["weapons"]
GroupBy = Literal["all", "region", "weapon_class", "source", "feed", "actors"]
RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]

# The names a message template may use; anything else is a load-time error, not a render-time KeyError.
TEMPLATE_FIELDS = frozenset(
    {"rule", "severity", "value", "threshold", "group", "source", "title", "regions", "window_start",
     "window_end", "count", "weapons", "weapon_model", "category", "subtypes", "figures"}
    | set(CountedFact.__args__)  # type: ignore[attr-defined]
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Filters(_Strict):
    """Which events a rule looks at; an empty list means "any". All given lists must match."""

    category: list[Category] = []
    mentions: list[Category] = []
    """Categories the event is or also reports (`also`): a salvo story "as talks open in Geneva" mentions talks."""
    subtypes: list[str] = []
    not_subtypes: list[str] = []
    """Sub-types that exclude an event: `[reconnaissance]` keeps reports of reconnaissance drones out."""
    regions: list[str] = []
    lang: list[Lang] = []
    source: list[str] = []
    feed: list[Feed] = []

    def accepts(self, event: ClassifiedEvent) -> bool:
        """True when the event passes every filter (subtypes and regions: any one of them)."""
        return (
            (not self.category or event.category in self.category)
            and (not self.mentions or bool({event.category, *event.also} & set(self.mentions)))
            and (not self.subtypes or bool(set(self.subtypes) & set(event.subtypes)))
            and not set(self.not_subtypes) & set(event.subtypes)
            and (not self.regions or bool(set(self.regions) & set(event.facts.regions)))
            and (not self.lang or event.lang in self.lang)
            and (not self.source or any(source_is(event.source, s) for s in self.source))
            and (not self.feed or event.feed in self.feed)
        )


def source_is(source: str, wanted: str) -> bool:
    """A source filter names a source or a prefix up to "/": "kpszsu" matches "kpszsu/posts/…"."""
    return source == wanted or source.startswith(wanted.rstrip("/") + "/")


class WindowSpec(_Strict):
    """An event-time window: tumbling when `step` is unset, sliding by `step` otherwise.

    Windows are aligned to the Unix epoch plus `offset` (UTC), so "1d" with offset "15h" runs from
    15:00 UTC, i.e. 18:00 Kyiv summer time: one window per attack night.
    """

    size: Duration
    step: Duration | None = None
    offset: Duration = timedelta(0)

    @model_validator(mode="after")
    def _step_divides_size(self) -> WindowSpec:
        if self.size <= timedelta(0):
            raise ValueError("size must be positive")
        if self.step is not None and (self.step <= timedelta(0) or self.size % self.step):
            raise ValueError("step must be positive and divide size")
        return self

    @property
    def hop(self) -> timedelta:
        """The distance between window starts."""
        return self.step or self.size


class _Rule(_Strict):
    id: RuleId
    severity: Severity = "warning"
    labels: dict[str, str] = {}
    cooldown: Duration = timedelta(0)
    message: Annotated[str, Field(min_length=1, max_length=512)]
    filters: Filters = Filters()
    inhibited_by: list[RuleId] = []
    """Night rules whose incident mutes this rule's alerts about the same night and region (Alertmanager's
    `inhibit_rules`): the night's incident already tells the story, with figures that add up."""

    @field_validator("message")
    @classmethod
    def _template_uses_known_fields(cls, message: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(message) if name is not None}
        except ValueError as exc:
            raise ValueError(f"message template: {exc}") from exc
        unknown = sorted(n for n in names if n.split(".")[0].split("[")[0] not in TEMPLATE_FIELDS)
        if unknown:
            raise ValueError(f"message template uses unknown field(s) {unknown}; known: {sorted(TEMPLATE_FIELDS)}")
        return message


class Levels(_Strict):
    """A severity at `threshold`, and higher ones at the levels of `escalate`."""

    severity: Severity = "warning"
    threshold: float
    escalate: dict[Severity, float] = {}

    @model_validator(mode="after")
    def _escalation_goes_up(self) -> Levels:
        for severity, value in self.escalate.items():
            if SEVERITY_RANK[severity] <= SEVERITY_RANK[self.severity] or value < self.threshold:
                raise ValueError(f"escalate.{severity} must be a higher severity at a value >= threshold")
        return self

    def severity_for(self, value: float) -> Severity | None:
        """The highest severity whose level `value` reaches, or None below `threshold`."""
        if value < self.threshold:
            return None
        reached = [s for s, level in self.escalate.items() if value >= level]
        return max(reached + [self.severity], key=SEVERITY_RANK.__getitem__)  # type: ignore[return-value]


class _Levelled(_Rule, Levels):
    pass


class ThresholdRule(_Levelled):
    """A fact of one event reaches a level; reports within `tolerance` of each other are one incident."""

    kind: Literal["threshold"]
    fact: FactName
    group_by: GroupBy = "all"
    tolerance: Duration = timedelta(hours=12)


class WindowRule(_Levelled):
    """An aggregate of a fact over an event-time window, per group key, reaches a level."""

    kind: Literal["window"]
    agg: Literal["sum", "count", "max", "distinct_regions"]
    fact: FactName | None = None
    window: WindowSpec
    group_by: GroupBy
    require: dict[Literal["drones", "missiles"], float] = {}
    """Window sums each named fact must also reach: a combined salvo needs drones *and* missiles."""

    @model_validator(mode="after")
    def _fact_matches_agg(self) -> WindowRule:
        if self.agg in ("sum", "max") and self.fact is None:
            raise ValueError(f"agg {self.agg!r} needs a fact")
        return self


class SpikeRule(_Rule):
    """The current tumbling window against the median of the `baseline` windows before it."""

    kind: Literal["spike"]
    agg: Literal["sum", "count"]
    fact: FactName | None = None
    window: WindowSpec
    group_by: GroupBy
    baseline: Annotated[int, Field(ge=3, le=90)] = 14
    factor: Annotated[float, Field(gt=1.0)] = 2.0
    floor: Annotated[float, Field(gt=0.0)]

    @model_validator(mode="after")
    def _tumbling_with_fact(self) -> SpikeRule:
        if self.window.step is not None:
            raise ValueError("a spike compares tumbling windows: remove window.step")
        if self.agg == "sum" and self.fact is None:
            raise ValueError("agg 'sum' needs a fact")
        return self


class Trigger(Levels):
    """One condition that makes a night an incident, named after what it detects ("missile-salvo").

    `fact` is a figure of the whole night (`alerts.nights`). With `baseline`, the level is also at least
    `factor` × the median of that figure over the `baseline` nights before: a spike against recent nights.
    """

    id: RuleId
    fact: Literal["drones", "missiles", "weapons", "regions", "alerted"]
    require: dict[Literal["drones", "missiles"], float] = {}
    baseline: Annotated[int, Field(ge=3, le=90)] | None = None
    factor: Annotated[float, Field(gt=1.0)] = 2.0

    @model_validator(mode="after")
    def _wave_is_info(self) -> Trigger:
        """An air-raid wave (`alerted`: oblasts under alert at once) opens a night early but pages nobody by
        itself: over 300 nights a year reach 15 oblasts, most with no strike reported (`alerts.waves`)."""
        if self.fact == "alerted" and (self.severity != "info" or self.escalate or self.require or self.baseline):
            raise ValueError("a trigger on alerted (an air-raid wave) is severity info, without escalate, "
                             "require or baseline: the night's reports raise its severity")
        return self


class NightRule(_Rule):
    """Every attack report of one night (a tumbling `window`) as one incident, with figures that add up.

    With a trigger on `alerted`, the air-raid alerts (feed `airraid`, whatever the filters) count too: the
    most oblasts under alert at once (`alerts.waves`) can open the night before any report.

    The incident fires when the first trigger is met and takes the highest severity any trigger reaches; a
    new version goes out only when the severity rises or a figure grows by its `step`; it resolves, with the
    final figures, when the watermark passes the night's end (`alerts.nights` says how sources are counted).
    """

    kind: Literal["night"]
    window: WindowSpec
    national: list[str]
    """Sources whose reports are national totals: per weapon model, the highest of them counts, and rows of
    other (regional) sources add up only for models no national source reported that night."""
    triggers: Annotated[list[Trigger], Field(min_length=1)]
    story_max: dict[Literal["drones", "missiles"], Annotated[int, Field(ge=1)]] = {"drones": 1500, "missiles": 200}
    """The most a report with no weapon model (a news story) may give for one night: above it, a count is a
    war's running total ("22,000 missiles since February"), not a night's, and is left out."""
    step: dict[Literal["drones", "missiles", "regions"], Annotated[int, Field(ge=1)]] = {
        "drones": 100, "missiles": 20, "regions": 4}
    """How much a figure must grow since the last version sent for a new version to go out."""

    @property
    def waves(self) -> bool:
        """Whether air-raid alerts count: a trigger on `alerted`."""
        return any(trigger.fact == "alerted" for trigger in self.triggers)

    @model_validator(mode="after")
    def _tumbling_unique(self) -> NightRule:
        if self.window.step is not None:
            raise ValueError("a night is a tumbling window: remove window.step")
        ids = [trigger.id for trigger in self.triggers]
        if len(set(ids)) != len(ids):
            raise ValueError("trigger ids must be unique")
        return self


class AbsenceRule(_Rule):
    """No event from a feed or source for `period`: a silent feed is an outage."""

    kind: Literal["absence"]
    group_by: Literal["feed", "source"] = "feed"
    period: Duration


class MatchRule(_Rule):
    """Category / sub-type (via filters), place, speaker and keyword conditions; matches within `tolerance`
    merge. `group_by: actors` makes one incident per story: the leaders it names, else its first place."""

    kind: Literal["match"]
    keywords: list[Annotated[str, Field(min_length=2)]] = []
    places: list[str] = []
    speakers: list[str] = []
    """Actors of which one must speak in the event's lead (`streams.classify.actors`): a threat by a head of
    state is one the head of state makes, not any text naming one."""
    group_by: GroupBy = "all"
    tolerance: Duration = timedelta(hours=6)

    @model_validator(mode="after")
    def _has_a_condition(self) -> MatchRule:
        f = self.filters
        if not (self.keywords or self.places or self.speakers or f.category or f.mentions or f.subtypes
                or f.regions):
            raise ValueError("a match rule needs keywords, places, speakers, or a category/mentions/subtypes/"
                             "regions filter")
        return self

    @field_validator("speakers")
    @classmethod
    def _known_speakers(cls, speakers: list[str]) -> list[str]:
        unknown = sorted(set(speakers) - set(ACTORS))
        if unknown:
            raise ValueError(f"unknown speaker(s) {unknown}; known: {sorted(ACTORS)}")
        return speakers

    def matches(self, event: ClassifiedEvent) -> bool:
        """Keywords: any, case-insensitive, in the title; places: any of the event's places or regions;
        speakers: any of the event's speakers."""
        text = event.title.casefold()
        spots = {p.casefold() for p in [*event.facts.places, *event.facts.regions]}
        return (
            (not self.keywords or any(k.casefold() in text for k in self.keywords))
            and (not self.places or any(p.casefold() in spots for p in self.places))
            and (not self.speakers or bool(set(self.speakers) & set(event.facts.speakers)))
        )


Rule = Annotated[
    ThresholdRule | WindowRule | SpikeRule | AbsenceRule | MatchRule | NightRule, Field(discriminator="kind")
]


class RuleSet(_Strict):
    """The rules one engine runs; ids are unique because alert ids are built from them."""

    rules: list[Rule]

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        nights = {rule.id for rule in rules if isinstance(rule, NightRule)}
        for rule in rules:
            if set(rule.inhibited_by) - nights:
                raise ValueError(f"rule {rule.id!r}: inhibited_by names no night rule: "
                                 f"{sorted(set(rule.inhibited_by) - nights)}")
        return rules

    def __iter__(self) -> Iterator[Rule]:  # type: ignore[override]
        return iter(self.rules)

    def label_names(self) -> frozenset[str]:
        """Every label an alert of these rules can carry: each rule's `labels`, and `kind` (`alerts.messages`)."""
        return frozenset({"kind", *(name for rule in self.rules for name in rule.labels)})


def _to_python(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> Any:
    """Turn a composed YAML node into plain data, remembering the line of every path for error messages."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _to_python(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _without_union_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A pydantic error location without the parts naming union members: the rule kind after
    `rules.N` and tags like "literal['weapons']", so it matches the path in the file."""
    if len(loc) > 2 and loc[0] == "rules" and loc[2] in _KINDS:
        loc = loc[:2] + loc[3:]
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or "(" in p)))


def _line_of(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int:
    """The line of the deepest known prefix of a pydantic error location."""
    known = loc
    while known and known not in lines:
        known = known[:-1]
    return lines.get(known, 1)


_KINDS = {"threshold", "window", "spike", "absence", "match", "night"}


def parse_rules(text: str, *, path: str) -> RuleSet:
    """Validate rule-file text; raise `RuleFileError` listing every problem with its line."""
    lines: dict[tuple[Any, ...], int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RuleFileError(path, [((mark.line + 1) if mark else 1, f"YAML: {exc}")]) from exc
    data = _to_python(node, (), lines) if node is not None else None
    try:
        return RuleSet.model_validate(data)
    except pydantic.ValidationError as exc:
        merged: dict[tuple[int, str], list[str]] = {}
        for err in exc.errors():
            loc = _without_union_tags(tuple(err["loc"]))
            rule_id = _rule_id(data, loc)
            where = ".".join(str(p) for p in loc) or "file"
            prefix = f"rule {rule_id!r}: " if rule_id else ""
            messages = merged.setdefault((_line_of(loc, lines), f"{prefix}{where}"), [])
            if err["msg"] not in messages:
                messages.append(err["msg"])
        problems = [(line, f"{where}: {' / '.join(msgs)}") for (line, where), msgs in merged.items()]
        raise RuleFileError(path, problems) from None


def _rule_id(data: Any, loc: tuple[Any, ...]) -> str | None:
    """The id of the rule an error location points into, so messages name the rule as well as the line."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        rules = data.get("rules")
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            found = rules[loc[1]].get("id")
            return str(found) if found is not None else None
    return None


def load_rules(path: str | Path) -> RuleSet:
    """Load and validate a rule file; `RuleFileError` carries file, line and reason of each error."""
    return parse_rules(Path(path).read_text(encoding="utf-8"), path=str(path))


def default_rules() -> RuleSet:
    """The rules Salvo ships (`alerts/default_rules.yaml`), tuned on the real strike feed."""
    text = resources.files("alerts").joinpath("default_rules.yaml").read_text(encoding="utf-8")
    return parse_rules(text, path="alerts/default_rules.yaml")
