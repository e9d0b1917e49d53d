"""Pipeline metrics of the worker: what came in, what was refused, what was classified, and how fast."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from schemas import ClassifiedEvent, RejectReason

_STAGE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
STAGES = ("ingest", "classify", "rules", "deliver")
FEEDS = ("news", "strikes", "airraid")


class Children:
    """`metric.labels(*labels)`, kept: a worker asks for the same few series for every record, and the
    client's lookup builds a label tuple and takes a lock each time."""

    def __init__(self) -> None:
        self._found: dict[tuple[int, tuple[str, ...]], Any] = {}

    def __call__(self, metric: MetricWrapperBase, *labels: str) -> Any:
        key = (id(metric), labels)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = metric.labels(*labels)
        return found


def salvo_version() -> str:
    """The installed Salvo version, for `salvo_build_info`."""
    try:
        return version("salvo")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "unknown"


class PipelineMetrics:
    """Built on an injected registry so each test and each app instance has its own series."""

    def __init__(self, registry: CollectorRegistry, *, topics: dict[str, str]) -> None:
        """:param topics: feed name → raw topic name, so series start at zero for every feed."""
        self.messages_in = Counter(
            "salvo_messages_in", "Messages read from raw topics.", ["topic", "feed"], registry=registry
        )
        self.dead_letters = Counter(
            "salvo_dead_letters",
            "Messages refused and sent to the dead-letter topic.",
            ["topic", "reason"],
            registry=registry,
        )
        self.rereads = Counter(
            "salvo_partition_rereads",
            "Partitions sought back to the offset an agent needs next: a hole it saw, or records the consumer "
            "had fetched and dropped (a stall; streams.worker.reread).",
            ["topic", "why"],
            registry=registry,
        )
        self.duplicates = Counter(
            "salvo_duplicate_items",
            "Items dropped as exact repeats of an item seen within the dedup horizon.",
            ["feed"],
            registry=registry,
        )
        self.events_classified = Counter(
            "salvo_events_classified",
            "Events classified, by category, first sub-type and language.",
            ["category", "subtype", "lang"],
            registry=registry,
        )
        self.drones = Counter(
            "salvo_facts_drones",
            "Drones reported in classified events, by region ('unknown' if none named).",
            ["region"],
            registry=registry,
        )
        self.missiles = Counter(
            "salvo_facts_missiles",
            "Missiles reported in classified events, by region.",
            ["region"],
            registry=registry,
        )
        self.events_by_region = Counter(
            "salvo_events_by_region",
            "Classified events naming a region, by category.",
            ["region", "category"],
            registry=registry,
        )
        self.stage_seconds = Histogram(
            "salvo_stage_seconds",
            "Processing time per pipeline stage.",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=registry,
        )
        build = Gauge("salvo_build_info", "Salvo build information.", ["version"], registry=registry)
        build.labels(version=salvo_version()).set(1)
        for feed, topic in topics.items():
            self.messages_in.labels(topic=topic, feed=feed)
            self.duplicates.labels(feed=feed)
            for reason in RejectReason:
                self.dead_letters.labels(topic=topic, reason=reason.value)
        for stage in STAGES:
            self.stage_seconds.labels(stage=stage)
        self.child = Children()

    def observe_event(self, event: ClassifiedEvent) -> None:
        """Count one classified event and its facts.

        A salvo over twelve regions is counted once under `multiple`, not twelve times, so sums stay true.
        """
        facts = event.facts
        subtype = event.subtypes[0] if event.subtypes else "none"
        self.child(self.events_classified, event.category, subtype, event.lang).inc()
        for region in facts.regions:
            self.child(self.events_by_region, region, event.category).inc()
        where = facts.regions[0] if len(facts.regions) == 1 else ("multiple" if facts.regions else "unknown")
        if facts.drones:
            self.child(self.drones, where).inc(facts.drones)
        if facts.missiles:
            self.child(self.missiles, where).inc(facts.missiles)
