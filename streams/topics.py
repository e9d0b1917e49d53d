"""The catalogue of Salvo's topics and their creation, so names and settings live in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.settings import SalvoSettings

# Replayed history carries old record timestamps; time-based retention would delete it on arrival.
_KEEP_FOREVER = {"retention.ms": "-1"}
_COMPACTED = {"cleanup.policy": "compact"}


@dataclass(frozen=True)
class TopicSpec:
    """One topic: `scaled` topics get the configured partition count, the others exactly one."""

    name: str
    doc: str
    scaled: bool = False
    config: dict[str, str] = field(default_factory=dict)


NEWS_RAW = "news.raw"
STRIKES_RAW = "strikes.raw"
AIRRAID_RAW = "airraid.raw"
EVENTS = "events.classified"
EVENTS_LATE = "events.late"
ALERTS = "alerts"
CONTROL = "control"
DELIVERY_LOG = "deliveries.log"
DEADLETTER = "deadletter"
SUBSCRIPTIONS = "subscriptions"
SILENCES = "silences"
ACKS = "acks"

# Marks a clock record of `events.classified`: the rules read their clock in-band (streams.worker.rules), and
# every reader of the topic that wants events skips these.
TICK_HEADER = "salvo-tick"

CATALOGUE: tuple[TopicSpec, ...] = (
    TopicSpec(NEWS_RAW, "news items (NewsItem JSON) from feed adapters", scaled=True, config=_KEEP_FOREVER),
    TopicSpec(STRIKES_RAW, "strike report rows (StrikeReport JSON)", scaled=True, config=_KEEP_FOREVER),
    TopicSpec(AIRRAID_RAW, "air-raid alert starts and ends (AirRaidAlert JSON), keyed by alert", scaled=True,
              config=_KEEP_FOREVER),
    TopicSpec(
        EVENTS, "classified events and in-band clock ticks, one partition: rules need one order",
        config=_KEEP_FOREVER,
    ),
    TopicSpec(EVENTS_LATE, "events later than the allowed lateness, kept for audit", config=_KEEP_FOREVER),
    TopicSpec(ALERTS, "alert versions (Alert JSON) for delivery and any downstream consumer"),
    TopicSpec(
        CONTROL, "clock ticks and redrives for delivery: outbox writes must happen inside stream iteration"
    ),
    TopicSpec(DELIVERY_LOG, "what was delivered: status, attempts, latency"),
    TopicSpec(DEADLETTER, "refused messages with the original bytes and the reason"),
    TopicSpec(SUBSCRIPTIONS, "subscriptions keyed by name; a null value deletes", config=_COMPACTED),
    TopicSpec(SILENCES, "silences keyed by id", config=_COMPACTED),
    TopicSpec(ACKS, "incident acknowledgements keyed by alert id", config=_COMPACTED),
)


def topic_names(settings: SalvoSettings) -> list[str]:
    """Every topic name under the configured prefix."""
    return [settings.topic(spec.name) for spec in CATALOGUE]


def create_topics(settings: SalvoSettings, *, timeout_s: float = 30.0) -> list[str]:
    """Create the missing topics and return the names created; existing topics are left as they are."""
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=f"{settings.app_id}-admin",
        request_timeout_ms=int(timeout_s * 1000),
    )
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(
                name=settings.topic(spec.name),
                num_partitions=settings.partitions if spec.scaled else 1,
                replication_factor=settings.replication_factor,
                topic_configs=spec.config,
            )
            for spec in CATALOGUE
            if settings.topic(spec.name) not in existing
        ]
        created = []
        for topic in wanted:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()
